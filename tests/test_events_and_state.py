"""Reads (health, state, events), retention at MAX_EVENTS, and secrets kept out of the log."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.conftest import CALLBACK, UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, close_app, envelope
from wxwork_demo.db import db_session
from wxwork_demo.models import Event
from wxwork_demo.services.events import PRUNE_EVERY, events_trimmer, mask_secrets, record_event


def test_health(client):
    body = client.get("/api/health").get_json()
    assert body["ok"] is True and body["baseUrl"] == UPSTREAM and body["callbackUrl"] == CALLBACK
    assert body["now"].endswith("Z")


def test_state_without_a_session_has_the_empty_shape(client):
    body = client.get("/api/state").get_json()
    assert (
        body["active"].items()
        >= {
            "uuid": "",
            "vid": "",
            "isLogin": False,
            "qrcode": "",
            "qrcodeKey": "",
            "lastEvent": "",
            "lastError": "",
            "updatedAt": "",
        }.items()
    )
    assert body["active"]["state"] == "" and body["active"]["account"] == {"name": "", "corp": "", "avatar": ""}
    seed_monitor_keys = {"enabled", "running", "lastCheckAt", "lastReconnectAt", "reconnecting", "intervalMs"}
    assert seed_monitor_keys <= set(body["monitor"]) and body["monitor"]["enabled"] is False
    assert body["monitor"]["intervalMs"] == 45000 and body["eventsCount"] == 0
    assert body["baseUrl"] == UPSTREAM and body["callbackUrl"] == CALLBACK


def test_state_shows_the_most_recently_updated_session(app, client):
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    add_session(app, "U1", vid="1", is_login=True, updated_at=an_hour_ago)
    add_session(app, "U2", vid="2", updated_at=an_hour_ago)
    client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100001, "json": json.dumps({"Qrcode_key": "K"})})
    body = client.get("/api/state").get_json()
    assert body["active"]["uuid"] == "U1" and body["active"]["qrcodeKey"] == "K"
    assert body["active"]["updatedAt"].endswith("Z")
    assert {s["uuid"] for s in body["sessions"]} == {"U1", "U2"}


def test_events_newest_first_with_the_documented_shape(app, client):
    for n in range(3):
        client.post(CALLBACK_PATH, json={"uuid": "U", "type": 102000, "json": json.dumps({"n": n})})
    events = client.get("/api/events").get_json()["events"]
    assert [e["payload"]["n"] for e in events] == [2, 1, 0]
    assert set(events[0]) == {"id", "sessionUuid", "stage", "eventType", "payload", "createdAt"}
    assert events[0]["stage"] == "callback" and events[0]["eventType"] == "102000"
    assert client.get("/api/events?type=none").get_json()["events"] == []
    newer = client.get(f"/api/events?after={events[1]['id']}").get_json()["events"]
    assert [e["payload"]["n"] for e in newer] == [2]
    assert client.get("/api/events?after=x").status_code == 400


def test_events_are_kept_at_max_events_plus_a_small_batch(database_url):
    app = make_test_app(database_url, MAX_EVENTS=10)
    with app.app_context():
        sizes = []
        for n in range(150):
            record_event("U", "test", "tick", {"n": n})
            events_trimmer().wait_idle()
            sizes.append(db_session().scalar(select(func.count()).select_from(Event)))
        assert max(sizes) <= 10 + PRUNE_EVERY
        newest = db_session().scalars(select(Event).order_by(Event.id.desc()).limit(10)).all()
        assert [e.payload["n"] for e in newest] == list(range(149, 139, -1))
    client = app.test_client()
    assert len(client.get("/api/events").get_json()["events"]) == 10
    close_app(app)


def test_secrets_are_masked_wherever_they_are_nested():
    masked = mask_secrets(
        {
            "request": {"passward": "p1", "userName": "bob", "nested": [{"password": "p2", "token": "t"}]},
            "url": "http://h/callback/wxwork?token=abc&x=1",
            "empty": {"passward": ""},
        }
    )
    assert masked["request"]["passward"] == "***" and masked["request"]["userName"] == "bob"
    assert masked["request"]["nested"] == [{"password": "***", "token": "***"}]
    assert masked["url"] == "http://h/callback/wxwork?token=***&x=1"
    assert masked["empty"] == {"passward": ""}


def test_upstream_check_pings_get_run_client(app, client, upstream):
    upstream.post(f"{UPSTREAM}/wxwork/GetRunClient", json=envelope([], 0, "获取成功"))
    body = client.get("/api/upstream-check").get_json()
    assert body == {"ok": True, "status": 200, "baseUrl": UPSTREAM, "raw": envelope([], 0, "获取成功")}
    assert json.loads(upstream.calls[0].request.body) == {}
    upstream.replace("POST", f"{UPSTREAM}/wxwork/GetRunClient", status=503, body="down")
    body = client.get("/api/upstream-check").get_json()
    assert body["ok"] is False and body["status"] == 503


def test_unknown_routes_and_methods_answer_json(client):
    response = client.get("/api/nope")
    assert response.status_code == 404 and response.get_json()["ok"] is False
    response = client.get("/api/send-text")
    assert response.status_code == 405 and response.get_json()["ok"] is False


def test_state_before_migrations_says_how_to_create_tables(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    response = app.test_client().get("/api/state")
    assert response.status_code == 503
    assert "db upgrade" in response.get_json()["message"]
