import os
import shutil

import pytest

from tests.conftest import make_test_app
from tests.support import close_app
from wxwork_demo import config
from wxwork_demo.config import ConfigError, Settings, load_settings, settings_of


def test_without_base_url_every_entry_point_uses_the_bundled_simulators_port():
    settings = load_settings({"SIMULATOR_PORT": "19952"})
    assert settings.base_url == "http://127.0.0.1:19952" and settings.base_url_is_default is True
    given = load_settings({"SIMULATOR_PORT": "19952", "BASE_URL": "http://47.94.7.218:9952"})
    assert given.base_url == "http://47.94.7.218:9952" and given.base_url_is_default is False


def test_defaults_are_the_seed_demos():
    settings = load_settings({})
    assert settings.port == 3000
    # Not the old demo's public upstream: every entry point uses the bundled simulator when BASE_URL is unset
    # (issue 17 point 2), the one `wxwork run` starts.
    assert settings.base_url == "http://127.0.0.1:9952"
    assert settings.callback_url == "http://127.0.0.1:3000/callback/wxwork"
    assert settings.max_events == 100
    assert settings.monitor_interval_ms == 45000
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("wxwork.sqlite3")
    assert settings.base_url_is_default is True


def test_mysql_parts_build_a_url_and_database_url_wins():
    parts = {"MYSQL_HOST": "db.local", "MYSQL_PORT": "3307", "MYSQL_USER": "app", "MYSQL_PASSWORD": "p@ss"}
    assert load_settings(parts).database_url == "mysql+pymysql://app:p%40ss@db.local:3307/wxwork?charset=utf8mb4"
    assert load_settings({**parts, "DATABASE_URL": "sqlite:////tmp/x.db"}).database_url == "sqlite:////tmp/x.db"
    assert load_settings({"DATABASE_URL": "mysql://root@h/db"}).database_url == "mysql+pymysql://root@h/db"


def test_base_url_given_turns_off_the_simulator():
    settings = load_settings({"BASE_URL": "http://10.0.0.1:9952/", "PORT": "8080"})
    assert settings.base_url == "http://10.0.0.1:9952"
    assert settings.base_url_is_default is False
    assert settings.callback_url == "http://127.0.0.1:8080/callback/wxwork"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"MYSQL_PORT": "x"}, "MYSQL_PORT"),
        ({"MAX_EVENTS": "0"}, "MAX_EVENTS"),
        ({"MONITOR_INTERVAL_MS": "fast"}, "MONITOR_INTERVAL_MS"),
        ({"DATABASE_URL": "postgresql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"BASE_URL": "ftp://host"}, "BASE_URL"),
        ({"CALLBACK_URL": "not a url"}, "CALLBACK_URL"),
        ({"MONITOR_AUTOSTART": "maybe"}, "MONITOR_AUTOSTART"),
        ({"UPSTREAM_READ_TIMEOUT": "-1"}, "UPSTREAM_READ_TIMEOUT"),
        ({"RECONNECT_ON": "100007,100009"}, "RECONNECT_ON"),
        ({"RECONNECT_ON": "all"}, "RECONNECT_ON"),
        ({"SILENCE_ALERT_S": "0"}, "SILENCE_ALERT_S"),
    ],
)
def test_a_value_that_cannot_work_names_its_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_reconnect_on_and_silence_defaults_and_values():
    settings = load_settings({})
    assert settings.reconnect_on == (100007,) and settings.silence_alert_s == 3600.0
    assert load_settings({"RECONNECT_ON": "100007, 100008"}).reconnect_on == (100007, 100008)
    assert load_settings({"RECONNECT_ON": ""}).reconnect_on == ()  # every disconnect waits for a person


def test_the_reconnect_deadline_leaves_an_attempt_its_four_calls():
    assert load_settings({}).reconnect_deadline_s == 4 * (5 + 15) + 30
    timeouts = {"UPSTREAM_CONNECT_TIMEOUT": "1", "UPSTREAM_READ_TIMEOUT": "2"}
    assert load_settings({**timeouts, "RECONNECT_DEADLINE_S": "13"}).reconnect_deadline_s == 13
    with pytest.raises(ConfigError, match=r"RECONNECT_DEADLINE_S must be more than .* = 12 s"):
        load_settings({**timeouts, "RECONNECT_DEADLINE_S": "12"})


def test_the_key_file_defaults_to_the_instance_folder_and_is_relative_to_the_project():
    from wxwork_demo.config import PROJECT_ROOT

    assert load_settings({}).secret_key_file == str(PROJECT_ROOT / "instance" / "secret_key")
    assert load_settings({"SECRET_KEY_FILE": "keys/app"}).secret_key_file == str(PROJECT_ROOT / "keys" / "app")
    assert load_settings({"SECRET_KEY_FILE": "/etc/wxwork/key"}).secret_key_file == "/etc/wxwork/key"


@pytest.fixture
def developer_environment(tmp_path, monkeypatch):
    """What a developer may have: API_TOKEN in `.env`, CONSOLE_PASSWORD and MAX_EVENTS in the environment."""
    (tmp_path / ".env").write_text("API_TOKEN=dotenv-token-0123456789\n")
    monkeypatch.setattr(config, "working_folder", lambda: tmp_path)
    monkeypatch.setenv("CONSOLE_PASSWORD", "environment-password")
    monkeypatch.setenv("MAX_EVENTS", "7")
    monkeypatch.delenv("API_TOKEN", raising=False)
    yield
    os.environ.pop("API_TOKEN", None)  # load_dotenv put it in os.environ


def test_the_app_reads_the_environment_and_dotenv_when_given_no_config(developer_environment):
    settings = load_settings()
    assert (settings.api_token, settings.console_password, settings.max_events) == (
        "dotenv-token-0123456789",
        "environment-password",
        7,
    )


def test_a_test_config_is_the_only_source_of_settings(developer_environment, sqlite_template, tmp_path):
    """With API_TOKEN in .env, 24 login tests failed with 401: create_app(config) read it."""
    path = tmp_path / "clean.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}")
    try:
        settings = settings_of(app)
        assert (settings.api_token, settings.console_password, settings.max_events) == ("", "", 100)
        assert app.test_client().get("/api/state").status_code == 200  # no credentials asked for
        assert "API_TOKEN" not in os.environ  # .env was not even loaded
    finally:
        close_app(app)


def test_the_app_keeps_one_typed_settings_object(sqlite_template, tmp_path):
    path = tmp_path / "typed.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", MAX_EVENTS="12", MONITOR_AUTOSTART=False, MAX_BODY_BYTES=4096)
    try:
        settings = settings_of(app)
        assert isinstance(settings, Settings) and settings.max_events == 12 and settings.monitor_autostart is False
        # Flask's own keys only: what Flask itself reads.
        assert app.config["MAX_CONTENT_LENGTH"] == 4096
        assert "MAX_EVENTS" not in app.config and "BASE_URL" not in app.config
    finally:
        close_app(app)


def test_defaults_are_written_once():
    derived = load_settings({})  # the paths a default is taken in: the working folder
    assert load_settings({}) == Settings(
        database_url=derived.database_url,
        secret_key_file=derived.secret_key_file,
        media_dir=derived.media_dir,
        callback_url="http://127.0.0.1:3000/callback/wxwork",
    )


def test_a_mistyped_sqlite_path_creates_no_folders(tmp_path):
    """A SQLite file in a folder that does not exist is refused in one line, and nothing is created; only the
    default folder (instance/ of the working folder) is made when missing."""
    from wxwork_demo.config import ConfigError, load_settings

    typo = tmp_path / "var" / "lib" / "wxwrok" / "db.sqlite3"
    with pytest.raises(ConfigError, match=f"SQLite file in {typo.parent}, which does not exist"):
        load_settings({"DATABASE_URL": f"sqlite:///{typo}"}, dotenv=False)
    assert not (tmp_path / "var").exists()
    existing = tmp_path / "db.sqlite3"
    assert load_settings({"DATABASE_URL": f"sqlite:///{existing}"}, dotenv=False).database_url.endswith("db.sqlite3")
    assert load_settings({"DATABASE_URL": "sqlite:///:memory:"}, dotenv=False).database_url == "sqlite:///:memory:"


def test_creating_an_app_makes_no_folder_for_a_mistyped_sqlite_path(tmp_path):
    from tests.conftest import make_test_app
    from wxwork_demo.config import ConfigError

    typo = tmp_path / "nope" / "db.sqlite3"
    with pytest.raises(ConfigError, match="which does not exist"):
        make_test_app(f"sqlite:///{typo}")
    assert not typo.parent.exists()
