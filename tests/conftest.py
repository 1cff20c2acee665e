"""Fixtures in the flaskr mould: `app`, `client`, `runner`, on SQLite and on MySQL.

Every test that uses `app` runs once per database backend. MySQL runs when TEST_MYSQL_URL is set
(a server URL such as `mysql+pymysql://root@127.0.0.1:3306`); the tests create their own database on it
and drop it at the end. With REQUIRE_MYSQL=1 (set by .ci/run) a missing MySQL fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid as uuidlib

import pytest
import responses
from sqlalchemy import create_engine, text

from tests.support import KEY_FILE, clean_settings, close_app
from wxwork_demo import create_app
from wxwork_demo.models import Base
from wxwork_demo.schema import upgrade_database
from wxwork_demo.simulator import SimulatorServer

UPSTREAM = "http://upstream.test"
CALLBACK = "http://console.test/callback/wxwork"
CALLBACK_TOKEN = "test-callback-token-0123456789"

MYSQL_SERVER_URL = os.environ.get("TEST_MYSQL_URL", "").rstrip("/")
REQUIRE_MYSQL = os.environ.get("REQUIRE_MYSQL", "") == "1"


def skip_or_fail(reason: str) -> None:
    """A MySQL/MariaDB the test needs is missing: skip, or fail where REQUIRE_MYSQL=1 makes it mandatory."""
    if REQUIRE_MYSQL:
        pytest.fail(f"REQUIRE_MYSQL=1 but {reason}")
    pytest.skip(reason)


def _mysql_available() -> str | None:
    """Why MySQL cannot be used, or None when it can."""
    if not MYSQL_SERVER_URL:
        return "TEST_MYSQL_URL is not set"
    try:
        engine = create_engine(MYSQL_SERVER_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no usable server
        return f"MySQL at TEST_MYSQL_URL unreachable: {exc}"
    return None


@pytest.fixture(scope="session", autouse=True)
def app_key_file(tmp_path_factory) -> str:
    """The key file of every app (and subprocess) a test starts without SECRET_KEY: one per test run,
    never the checkout's instance/secret_key. Apps get it in their settings (make_test_app), subprocesses
    in their environment."""
    path = str(tmp_path_factory.mktemp("keys") / "secret_key")
    KEY_FILE["path"] = path
    previous = os.environ.get("SECRET_KEY_FILE")
    os.environ["SECRET_KEY_FILE"] = path
    yield path
    if previous is None:
        os.environ.pop("SECRET_KEY_FILE", None)
    else:
        os.environ["SECRET_KEY_FILE"] = previous


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, copied for each test (migrations run once, on the real scripts)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def mysql_database_url():
    """A database of its own on the MySQL server, migrated once, dropped at the end of the run."""
    reason = _mysql_available()
    if reason:
        skip_or_fail(reason)
    name = f"wxwork_test_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    server = create_engine(MYSQL_SERVER_URL)
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    url = f"{MYSQL_SERVER_URL}/{name}?charset=utf8mb4"
    upgrade_database(url)
    yield url
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    server.dispose()


@pytest.fixture(params=["sqlite", "mysql"])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("mysql_database_url")
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()
    return url


def make_test_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "BASE_URL": UPSTREAM,
        "CALLBACK_URL": CALLBACK,
        "CALLBACK_TOKEN": CALLBACK_TOKEN,
        "MAX_EVENTS": 100,
        "MONITOR_INTERVAL_MS": 45000,
        "UPSTREAM_CONNECT_TIMEOUT": 2.0,
        "UPSTREAM_READ_TIMEOUT": 2.0,
        # Sends unpaced unless a test is about pacing: a second per send would only slow the others down.
        "SEND_MIN_INTERVAL_MS": 0,
        "SEND_JITTER_MS": 0,
    }
    config.update(overrides)
    return create_app(clean_settings(**config))


@pytest.fixture
def app(database_url):
    app = make_test_app(database_url)
    yield app
    close_app(app)


@pytest.fixture
def simulator():
    """The bundled upstream simulator on a free port (callbacks delivered once, not retried)."""
    server = SimulatorServer(port=0, settings={"callback_retries": 0}).start()
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def upstream():
    """The upstream, mocked at the HTTP layer: every request the app sends is checked against it."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
