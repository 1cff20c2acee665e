"""/api/ready (issue 17.5): ready only when the database answers, its tables are at this version's migration and
the upstream answers, each cause named; /api/health keeps the callback URL (its token) from strangers once access
control is on. On SQLite and on MariaDB."""

from __future__ import annotations

import os
import uuid as uuidlib

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.conftest import CALLBACK, MYSQL_SERVER_URL, UPSTREAM, make_test_app, skip_or_fail
from tests.e2e.live import free_port
from tests.support import close_app, envelope, events_of
from wxwork_demo.config import settings_of
from wxwork_demo.database_check import head_revision

RUN_CLIENT = f"{UPSTREAM}/wxwork/GetRunClient"
API_TOKEN = "ready-api-token-0123456789"


@pytest.fixture(params=["sqlite", "mysql"])
def empty_database_url(request, tmp_path):
    """A database that exists and answers, without any table (nobody ran `db upgrade`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    if not MYSQL_SERVER_URL:
        skip_or_fail("TEST_MYSQL_URL is not set")
    name = f"wxwork_ready_{os.getpid()}_{uuidlib.uuid4().hex[:6]}"
    server = create_engine(MYSQL_SERVER_URL)
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    yield f"{MYSQL_SERVER_URL}/{name}?charset=utf8mb4"
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    server.dispose()


def test_ready_when_database_migration_and_upstream_are(client, upstream):
    upstream.post(RUN_CLIENT, json=envelope([]))
    response = client.get("/api/ready")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ok"] is True and body["ready"] is True and "code" not in body
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migration": True,
        "upstream": True,
    }
    assert body["checks"]["migration"]["message"] == f"at {head_revision()}"


def test_not_ready_without_tables_names_the_fix(empty_database_url, upstream):
    upstream.post(RUN_CLIENT, json=envelope([]))
    app = make_test_app(empty_database_url)
    try:
        health = app.test_client().get("/api/health")
        response = app.test_client().get("/api/ready")
    finally:
        close_app(app)
    assert health.status_code == 200  # alive all the same
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False and body["ready"] is False and body["code"] == "not_ready"
    assert body["checks"]["database"]["ok"] is True and body["checks"]["migration"]["ok"] is False
    assert "no tables yet" in body["message"] and "db upgrade" in body["message"]


def test_not_ready_behind_this_versions_migration(app, client, upstream):
    upstream.post(RUN_CLIENT, json=envelope([]))
    engine = create_engine(settings_of(app).database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    try:
        body = client.get("/api/ready").get_json()
    finally:  # the MySQL database is shared by the tests of this run
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})
        engine.dispose()
    assert body["ready"] is False and body["checks"]["migration"]["ok"] is False
    assert f"at migration 0003, this version needs {head_revision()}" in body["message"]


def test_not_ready_when_the_database_is_unreachable(upstream):
    upstream.post(RUN_CLIENT, json=envelope([]))
    app = make_test_app(f"mysql+pymysql://wxwork:secret-pw@127.0.0.1:{free_port()}/wxwork")
    try:
        response = app.test_client().get("/api/ready")
    finally:
        close_app(app)
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"]["ok"] is False and "nothing answers at 127.0.0.1" in body["message"]
    assert "secret-pw" not in response.get_data(as_text=True)


def test_not_ready_when_the_upstream_does_not_answer_and_the_probe_records_nothing(app, client, upstream):
    upstream.post(RUN_CLIENT, body=requests.ConnectionError("connection refused"))
    first = client.get("/api/ready")
    second = client.get("/api/ready")
    assert first.status_code == second.status_code == 503
    body = first.get_json()
    assert body["checks"]["upstream"]["ok"] is False
    assert f"upstream GetRunClient unreachable at {UPSTREAM}" in body["message"]
    assert len(upstream.calls) == 1  # the answer is kept a few seconds: probes do not hammer the upstream
    assert events_of(app) == []


def test_strangers_see_neither_the_callback_url_nor_the_causes(database_url, upstream):
    upstream.post(RUN_CLIENT, body=requests.ConnectionError("connection refused"))
    app = make_test_app(database_url, API_TOKEN=API_TOKEN)
    client = app.test_client()
    try:
        stranger_health = client.get("/api/health").get_json()
        stranger_ready = client.get("/api/ready")
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        known_health = client.get("/api/health", headers=auth).get_json()
        known_ready = client.get("/api/ready", headers=auth).get_json()
    finally:
        close_app(app)
    assert stranger_health["ok"] is True and stranger_health["callbackUrl"] == ""
    assert stranger_health["baseUrl"] == UPSTREAM  # the old demo's shape stays
    assert known_health["callbackUrl"] == CALLBACK
    assert stranger_ready.status_code == 503
    body = stranger_ready.get_json()
    assert body["message"] == "not ready: upstream"
    assert all("message" not in check for check in body["checks"].values())
    assert UPSTREAM not in stranger_ready.get_data(as_text=True)
    assert "unreachable at" in known_ready["checks"]["upstream"]["message"]
