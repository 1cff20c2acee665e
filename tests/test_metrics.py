"""/metrics (issue 17.8): Prometheus' text format, counts shared by every worker and process (they live in the
database), behind the API's access control. On SQLite and on MariaDB."""

from __future__ import annotations

import json
import re

import requests

from tests.conftest import UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, close_app, envelope, session_row
from wxwork_demo.config import settings_of

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\d+)$")
API_TOKEN = "metrics-api-token-0123456789"


def scrape(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
    """Every sample of /metrics, checked line by line against the text format."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for line in response.get_data(as_text=True).splitlines():
        if line.startswith("# "):
            assert re.match(r"^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge))$", line), line
            continue
        found = SAMPLE.match(line)
        assert found, line
        labels = tuple(re.findall(r'(\w+)="([^"]*)"', found["labels"] or ""))
        samples[(found["name"], labels)] = int(found["value"])
    return samples


def callback(client, uuid: str, type_code: int, payload: dict, path: str = CALLBACK_PATH):
    return client.post(path, json={"uuid": uuid, "type": type_code, "json": json.dumps(payload)})


def test_callbacks_upstream_calls_and_instances_are_counted(app, client, upstream):
    add_session(app, "U1", state="online", vid="1688")
    message = {"msgid": 1, "content": "hi", "sender": 7, "receiver": 1688}
    assert callback(client, "U1", 102000, message).status_code == 200
    assert callback(client, "U1", 102000, message).get_json()["duplicate"] is True
    assert callback(client, "U1", 102000, message, "/callback/wxwork?token=wrong").status_code == 403
    upstream.post(f"{UPSTREAM}/wxwork/init", json=envelope({"uuid": "U2", "is_login": "false"}))
    assert client.post("/api/init", json={}).status_code == 200
    upstream.post(f"{UPSTREAM}/wxwork/getQrCode", body=requests.ConnectionError("refused"))
    assert client.post("/api/get-qrcode", json={"uuid": "U2"}).status_code == 502

    samples = scrape(client)

    assert samples[("wxwork_callbacks_total", (("outcome", "accepted"),))] == 1
    assert samples[("wxwork_callbacks_total", (("outcome", "duplicate"),))] == 1
    assert samples[("wxwork_callbacks_total", (("outcome", "refused"),))] == 1
    assert samples[("wxwork_upstream_calls_total", (("action", "init"), ("outcome", "ok")))] == 1
    assert samples[("wxwork_upstream_calls_total", (("action", "getQrCode"), ("outcome", "unreachable")))] == 1
    assert samples[("wxwork_instances", (("state", "online"),))] == 1
    assert samples[("wxwork_instances", (("state", "initialised"),))] == 1
    assert samples[("wxwork_instances", (("state", "needs_person"),))] == 0
    assert samples[("wxwork_events", ())] >= 3


def test_counts_are_shared_by_every_worker(app, client, upstream):
    """Two apps on one database stand for two gunicorn workers (or a worker and `wxwork monitor run`)."""
    from wxwork_demo.services.monitor.reconnect import reconnect

    other = make_test_app(settings_of(app).database_url)
    try:
        add_session(app, "U1", state="online", vid="1688")
        assert callback(client, "U1", 102000, {"msgid": 1, "content": "a"}).status_code == 200
        assert callback(other.test_client(), "U1", 102000, {"msgid": 2, "content": "b"}).status_code == 200
        add_session(app, "U9", state="offline", vid="1699")
        upstream.post(f"{UPSTREAM}/wxwork/init", body=requests.ConnectionError("refused"))
        with other.app_context():
            assert reconnect(session_row(app, "U9").id) is False
            from wxwork_demo.services.intake.counters import flush_counts

            flush_counts()  # what `other` counted reaches the table within a second; here at once
        for scraped_by in (client, other.test_client()):
            samples = scrape(scraped_by)
            assert samples[("wxwork_callbacks_total", (("outcome", "accepted"),))] == 2
            assert samples[("wxwork_monitor_reconnects_total", (("outcome", "failed"),))] == 1
            assert samples[("wxwork_upstream_calls_total", (("action", "init"), ("outcome", "unreachable")))] == 1
    finally:
        close_app(other)


def test_metrics_are_behind_the_apis_access_control(database_url):
    app = make_test_app(database_url, API_TOKEN=API_TOKEN)
    client = app.test_client()
    try:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.get_json()["code"] == "authentication_required"
        scrape(client, headers={"Authorization": f"Bearer {API_TOKEN}"})
    finally:
        close_app(app)
    open_app = make_test_app(database_url)
    try:
        remote = open_app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.9.8.7"})
        assert remote.status_code == 403 and remote.get_json()["code"] == "loopback_only"
    finally:
        close_app(open_app)


def test_intake_latency_and_the_last_pass_duration(app, client):
    """The intake's time (its mean latency over the callbacks counted) and the monitor's last pass, as the
    issue's list asks: both were missing."""
    from datetime import timedelta

    from wxwork_demo.db import db_session
    from wxwork_demo.models import utcnow
    from wxwork_demo.services.monitor import lease

    before = scrape(client)
    assert before[("wxwork_callback_store_microseconds_total", ())] == 0
    assert not any(name == "wxwork_monitor_last_pass_milliseconds" for name, _ in before)  # no pass yet
    add_session(app, "U1", state="online", vid="1688")
    for n in range(3):
        assert callback(client, "U1", 102000, {"msgid": n, "content": "x"}).status_code == 200
    with app.app_context():
        lease.ensure_switch(default_enabled=True)
        started = utcnow()
        row = lease.lease_row()
        row.pass_started_at, row.pass_finished_at = started, started + timedelta(milliseconds=1234)
        db_session().commit()

    samples = scrape(client)

    assert samples[("wxwork_callback_store_microseconds_total", ())] > 0
    assert samples[("wxwork_monitor_last_pass_milliseconds", ())] == 1234
