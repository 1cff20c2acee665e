"""Issue 17.14, the smaller frictions: the simulator's page linked when it is the upstream, automatic login of an
account already online warns, no state event for a change that stays in the same state. (The contact filter over
every page loaded is in tests/test_browser.py; a mistyped SQLite path in tests/test_config.py.)"""

from __future__ import annotations

import json

from tests.conftest import UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, close_app, envelope, events_of


def test_the_simulator_page_is_named_when_it_is_the_upstream(database_url, simulator, upstream):
    upstream.add_passthru(simulator.url)
    app = make_test_app(database_url, BASE_URL=simulator.url)
    try:
        state = app.test_client().get("/api/state").get_json()
    finally:
        close_app(app)
    assert state["simulatorUrl"] == f"{simulator.url}/_sim/"


def test_no_simulator_page_and_no_probe_for_a_remote_upstream(client, upstream):
    assert "simulatorUrl" not in client.get("/api/state").get_json()
    assert len(upstream.calls) == 0  # a remote upstream is never asked for the simulator's page


def test_logging_in_an_account_that_is_online_warns(app, client, upstream):
    add_session(app, "ONLINE", vid="1688", state="online", is_login=True)
    upstream.post(f"{UPSTREAM}/wxwork/init", json=envelope({"uuid": "NEW", "is_login": "false"}))
    upstream.post(f"{UPSTREAM}/wxwork/automaticLogin", json=envelope(None, 0, "登陆成功"))

    init = client.post("/api/init", json={"vid": "1688"}).get_json()
    again = client.post("/api/automatic-login", json={"uuid": "ONLINE"}).get_json()
    other = client.post("/api/init", json={"vid": "1699"}).get_json()

    assert init["ok"] is True and "account 1688 was online already (instance ONLINE)" in init["warning"]
    assert again["ok"] is True and again["warning"].startswith("this instance was online already")
    assert "warning" not in other


def test_a_new_reason_in_the_same_state_records_no_state_event(app, client):
    add_session(app, "U1", state="waiting_scan", state_reason="scan the QR code with WeChat Work on the phone")
    client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100001, "json": json.dumps({"Qrcode_key": "K"})})
    client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100004, "json": json.dumps({"Qrcode_key": "K"})})
    changes = [event.event_type for event in events_of(app, stage="state")]
    assert changes == ["waiting_scan->waiting_code"]
