"""The monitor: check sessions that belong to an account, reconnect the dropped ones step by step."""

import json
import time

from tests.conftest import CALLBACK, UPSTREAM
from tests.support import add_session, envelope, events_of, sent_json, session_row
from wxwork_demo.services.monitor import check_all_sessions, monitor_state, start_monitor, stop_monitor

ONLINE = {"loginType": 2, "user_info": {"isLogin": True}, "uuid": "U1"}


def url(action):
    return f"{UPSTREAM}/wxwork/{action}"


def actions(upstream):
    return [c.request.url.rsplit("/", 1)[1] for c in upstream.calls]


def test_online_sessions_are_checked_and_left_alone(app, upstream):
    add_session(app, "U1", vid="1688", is_login=True)
    add_session(app, "NOVID")  # never logged in: nothing to keep online
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    with app.app_context():
        assert check_all_sessions() == {"checked": 1, "reconnected": 0}
        assert monitor_state().last_check_at is not None
    assert actions(upstream) == ["GetRunClientByUuid"] and sent_json(upstream.calls[0]) == {"uuid": "U1"}


def test_dropped_session_reconnects_with_its_vid(app, upstream):
    add_session(app, "U1", vid="1688857362464764", is_login=True)
    upstream.post(url("GetRunClientByUuid"), json=envelope(None, 500, "实例未登录"))
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    with app.app_context():
        assert check_all_sessions() == {"checked": 1, "reconnected": 1}
    assert actions(upstream) == ["GetRunClientByUuid", "init", "SetCallbackUrl", "automaticLogin"]
    assert sent_json(upstream.calls[1])["vid"] == 1688857362464764
    assert sent_json(upstream.calls[2]) == {"uuid": "U2", "url": CALLBACK}
    assert sent_json(upstream.calls[3]) == {"uuid": "U2"}
    assert session_row(app, "U1") is None
    row = session_row(app, "U2")
    assert row.is_login is True and row.vid == "1688857362464764" and row.last_event == "reconnected"
    steps = [e.event_type for e in events_of(app, stage="reconnect")]
    assert steps == ["start", "init", "SetCallbackUrl", "automaticLogin", "done"]


def test_failed_automatic_login_falls_back_to_a_qr_code_once(app, upstream):
    add_session(app, "U1", vid="1688", is_login=False)
    upstream.post(url("GetRunClientByUuid"), json=envelope(None, 500, "实例未登录"))
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 500, "自动登录失败"))
    upstream.post(url("getQrCode"), json=envelope({"qrcode": "http://qr.png", "Key": "K2", "Ttl": 600}))
    with app.app_context():
        assert check_all_sessions() == {"checked": 1, "reconnected": 0}
    row = session_row(app, "U2")
    assert row.qrcode == "http://qr.png" and row.qrcode_key == "K2" and row.last_event == "reconnect:needs-scan"
    assert "scan" in row.last_error
    # The next pass sees it still offline but a person has the QR code: no new init.
    with app.app_context():
        check_all_sessions()
    assert actions(upstream).count("init") == 1


def test_an_upstream_outage_is_not_taken_for_a_dropped_account(app, upstream):
    add_session(app, "U1", vid="1688", is_login=True)
    upstream.post(url("GetRunClientByUuid"), status=502, body="bad gateway")
    with app.app_context():
        assert check_all_sessions() == {"checked": 1, "reconnected": 0}
    assert actions(upstream) == ["GetRunClientByUuid"]
    assert session_row(app, "U1").is_login is True
    assert events_of(app, stage="monitor")[0].event_type == "GetRunClientByUuid:http_error"


def test_a_disconnect_callback_reconnects_through_the_running_monitor(app, client, upstream):
    add_session(app, "U1", vid="1688", is_login=True)
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    assert client.post("/api/monitor/start").get_json() == {
        "ok": True,
        "monitor": {"enabled": True, "intervalMs": 45000},
    }
    body = {"uuid": "U1", "type": 100007, "json": json.dumps({"vid": 1688, "msg": "登陆缓存失效，请重新登录。"})}
    assert client.post("/callback/wxwork", json=body).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (session_row(app, "U2") is None or not session_row(app, "U2").is_login):
        time.sleep(0.05)
    assert session_row(app, "U2").is_login is True
    assert actions(upstream) == ["init", "SetCallbackUrl", "automaticLogin"]
    assert client.post("/api/monitor/stop").get_json() == {"ok": True, "monitor": {"enabled": False}}
    assert client.get("/api/state").get_json()["monitor"]["enabled"] is False


def test_monitor_runs_on_its_interval(database_url, upstream):
    from tests.conftest import make_test_app

    app = make_test_app(database_url, MONITOR_INTERVAL_MS=200)
    add_session(app, "U1", vid="1688", is_login=True)
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    start_monitor(app)
    try:
        time.sleep(1.1)
    finally:
        stop_monitor(app)
        monitor_state(app).scheduler.shutdown(wait=True)
    assert 3 <= actions(upstream).count("GetRunClientByUuid") <= 7
    app.extensions["wxwork_db"].engine.dispose()
