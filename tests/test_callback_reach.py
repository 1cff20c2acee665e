"""When the upstream cannot reach the callback URL (issue 17.3), the console, the API, the CLI and the events say
so, with the fix: a loopback CALLBACK_URL with a remote upstream, a QR code shown long with no callback since, an
instance the upstream reports logged in that no callback announced."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.conftest import CALLBACK_TOKEN, UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, close_app, envelope, events_of
from wxwork_demo.models import utcnow
from wxwork_demo.services.login.callback_reach import CALLBACK_WAIT_S, loopback_hint

LOOPBACK = "http://127.0.0.1:3000/callback/wxwork"


def url(action: str) -> str:
    return f"{UPSTREAM}/wxwork/{action}"


def test_a_loopback_callback_url_with_a_remote_upstream_is_named_with_its_fix(database_url, upstream):
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    app = make_test_app(database_url, CALLBACK_URL=LOOPBACK)
    client = app.test_client()
    try:
        add_session(app, "U1")
        problem = client.get("/api/state").get_json()["callbackProblem"]
        answer = client.post("/api/set-callback", json={"uuid": "U1"}).get_json()
    finally:
        close_app(app)
    assert problem["code"] == "callback_loopback"
    assert f"names this machine, but the upstream at {UPSTREAM} runs elsewhere" in problem["message"]
    assert "set CALLBACK_URL to an address the upstream can reach" in problem["message"]
    assert answer["ok"] is True and answer["warning"] == problem["message"].replace(LOOPBACK, answer["callbackUrl"])
    [event] = events_of(app, stage="callback_reach")
    assert event.session_uuid == "U1" and event.event_type == "callback_loopback"
    assert CALLBACK_TOKEN not in json.dumps(answer) + json.dumps(event.payload)


def test_nothing_is_said_when_the_upstream_can_reach_it(client, upstream):
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    add_session(client.application, "U1")
    assert "callbackProblem" not in client.get("/api/state").get_json()
    assert "warning" not in client.post("/api/set-callback", json={"uuid": "U1"}).get_json()
    assert loopback_hint(LOOPBACK, "http://127.0.0.1:9952", 3000) is None  # the bundled simulator
    assert loopback_hint("http://localhost:3000/callback/wxwork", "http://47.94.7.218:9952", 3000) is not None
    assert loopback_hint("http://0.0.0.0:3000/callback/wxwork", "https://wx.example.com", 3000) is not None


def test_a_qr_code_shown_long_without_a_callback_is_flagged_until_one_arrives(app, client):
    long_ago = utcnow() - timedelta(seconds=CALLBACK_WAIT_S + 30)
    add_session(app, "SLOW", state="waiting_scan", last_event="get-qrcode", state_changed_at=long_ago)
    add_session(app, "FRESH", state="waiting_scan", last_event="get-qrcode", state_changed_at=utcnow())

    sessions = {s["uuid"]: s for s in client.get("/api/state").get_json()["sessions"]}
    hint = sessions["SLOW"]["callbackHint"]
    assert hint["code"] == "callback_silent"
    assert "if the phone has scanned it, the upstream at http://upstream.test cannot reach" in hint["message"]
    assert "callbackHint" not in sessions["FRESH"]

    client.post(CALLBACK_PATH, json={"uuid": "SLOW", "type": 100001, "json": json.dumps({"Qrcode_key": "K"})})
    sessions = {s["uuid"]: s for s in client.get("/api/state").get_json()["sessions"]}
    assert "callbackHint" not in sessions["SLOW"]


def test_logged_in_upstream_without_a_callback_is_recorded(app, client, upstream):
    add_session(app, "U1", state="waiting_scan", last_event="get-qrcode", state_changed_at=utcnow())
    upstream.post(url("GetRunClient"), json=envelope([]))
    upstream.post(url("GetRunClientByUuid"), json=envelope({"loginType": 2, "user_info": {"isLogin": True}}))

    answer = client.post("/api/refresh-run-client", json={"uuid": "U1"}).get_json()

    assert answer["isLogin"] is True
    assert "reports instance U1 logged in, but no callback said so" in answer["warning"]
    [event] = events_of(app, stage="callback_reach")
    assert event.event_type == "callback_missed" and event.session_uuid == "U1"
    # Once online by the callbacks' word, a refresh says nothing more.
    assert "warning" not in client.post("/api/refresh-run-client", json={"uuid": "U1"}).get_json()


def test_cli_login_warns_before_starting(database_url, upstream):
    import requests

    upstream.post(url("init"), body=requests.ConnectionError("refused"))
    app = make_test_app(database_url, CALLBACK_URL=LOOPBACK)
    try:
        result = app.test_cli_runner().invoke(args=["login", "first", "--timeout", "1"])
    finally:
        close_app(app)
    assert result.exit_code != 0
    assert "warning: the callback URL http://127.0.0.1:3000/callback/wxwork names this machine" in result.output
