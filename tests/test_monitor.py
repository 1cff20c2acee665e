"""Keeping accounts online: checks, the reconnect policy, alerts, and the single monitor owner."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.conftest import CALLBACK, CALLBACK_TOKEN, UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, change_settings, envelope, events_of, sent_json, session_row
from wxwork_demo.models import utcnow
from wxwork_demo.services.monitor import lease as monitor_lease
from wxwork_demo.services.monitor.reconnect import backoff_delay
from wxwork_demo.services.monitor.runtime import (
    check_pass,
    run_due_actions,
    runtime,
    shutdown_monitor,
    start_scheduler,
    switch_monitor,
)

ONLINE = {"loginType": 2, "user_info": {"isLogin": True}, "uuid": "U1"}
VID = "1688857362464764"


def url(action):
    return f"{UPSTREAM}/wxwork/{action}"


def actions(upstream):
    return [c.request.url.rsplit("/", 1)[1] for c in upstream.calls]


def online_account(app, uuid="U1", **fields):
    values = {"vid": VID, "is_login": True, "state": "online", "callback_registered_at": utcnow()}
    add_session(app, uuid, **{**values, **fields})


def make_due(app, uuid):
    """Skip the debounce/backoff wait: the scheduled action is due now."""
    from wxwork_demo.db import db_session
    from wxwork_demo.services.instances.registry import find_instance

    with app.app_context():
        row = find_instance(uuid)
        row.next_action_at = utcnow() - timedelta(seconds=1)
        db_session().commit()


@pytest.fixture
def quick_app(database_url):
    app = make_test_app(database_url, RECONNECT_DEBOUNCE_S=0.0, RECONNECT_BACKOFF_S=0.01, RECONNECT_MAX_ATTEMPTS=3)
    yield app
    app.extensions["wxwork_db"].engine.dispose()


def test_online_accounts_are_checked_and_left_alone(app, upstream):
    online_account(app)
    add_session(app, "NOVID", state="initialised")  # never logged in: nothing to keep online
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    with app.app_context():
        assert check_pass(app) == {"checked": 1, "offline": 0, "unknown": 0, "overdue": 0}
    assert actions(upstream) == ["GetRunClientByUuid"] and sent_json(upstream.calls[0]) == {"uuid": "U1"}
    assert session_row(app, "U1").state == "online"


def test_a_dead_account_goes_offline_and_gets_one_reconnect(quick_app, upstream):
    app = quick_app
    online_account(app)
    upstream.post(url("GetRunClientByUuid"), json=envelope(None, 500, "实例未登录"))
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("CloseConnent"), json=envelope(None, 0, "关闭成功"))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    with app.app_context():
        assert check_pass(app)["offline"] == 1
        row = session_row(app, "U1")
        assert row.state == "offline" and row.is_login is False and row.next_action == "reconnect"
        assert run_due_actions(app) == 1
        assert run_due_actions(app) == 0
    # The instance the account left is closed as soon as the row has moved to the new one.
    assert actions(upstream) == ["GetRunClientByUuid", "init", "CloseConnent", "SetCallbackUrl", "automaticLogin"]
    assert sent_json(upstream.calls[1])["vid"] == int(VID)
    assert sent_json(upstream.calls[2]) == {"uuid": "U1"}
    assert sent_json(upstream.calls[3]) == {"uuid": "U2", "url": CALLBACK + "?token=" + CALLBACK_TOKEN}
    assert session_row(app, "U1") is None
    row = session_row(app, "U2")
    assert row.state == "online" and row.is_login is True and row.vid == VID and row.reconnect_attempts == 0
    transitions = [e.event_type for e in events_of(app, stage="state")]
    assert transitions == ["online->offline", "offline->reconnecting", "reconnecting->online"]
    assert events_of(app, stage="state")[0].payload["cause"] == "check"


def test_a_burst_of_disconnect_callbacks_gives_one_reconnect(quick_app, upstream):
    app = quick_app
    change_settings(app, reconnect_on=(100005, 100007, 100008))  # every code reconnects silently (opt-in)
    online_account(app)
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    client = app.test_client()
    codes = [100005, 100007, 100008]
    # Ten distinct signals (three kinds, different texts): not redeliveries, so all ten are stored.
    bodies = [
        {"uuid": "U1", "type": codes[n % 3], "json": json.dumps({"vid": int(VID), "msg": f"断开 {n}"})}
        for n in range(10)
    ]
    threads = [threading.Thread(target=lambda b=body: client.post(CALLBACK_PATH, json=b)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(events_of(app, stage="callback")) == 10
    with app.app_context():
        for _ in range(3):
            run_due_actions(app)
    assert actions(upstream).count("init") == 1 and actions(upstream).count("automaticLogin") == 1
    assert session_row(app, "U2").state == "online"


def test_backoff_is_exponential_with_jitter_and_capped():
    assert backoff_delay(1, 5, 300, rand=lambda: 0.0) == 2.5
    assert backoff_delay(1, 5, 300, rand=lambda: 1.0) == 5.0
    assert backoff_delay(3, 5, 300, rand=lambda: 0.0) == 10.0
    assert backoff_delay(3, 5, 300, rand=lambda: 1.0) == 20.0
    assert backoff_delay(20, 5, 300, rand=lambda: 1.0) == 300.0
    delays = {round(backoff_delay(2, 5, 300), 3) for _ in range(50)}
    assert len(delays) > 10 and all(5.0 <= d <= 10.0 for d in delays)


def test_failed_attempts_back_off_then_ask_a_person_with_exactly_one_alert(database_url, upstream):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream.add_passthru(f"http://127.0.0.1:{server.server_port}")
    app = make_test_app(
        database_url,
        RECONNECT_DEBOUNCE_S=0.0,
        RECONNECT_BACKOFF_S=60.0,
        RECONNECT_MAX_ATTEMPTS=3,
        ALERT_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/alerts",
    )
    try:
        online_account(app, next_action="reconnect", next_action_at=utcnow(), state="offline", is_login=False)
        upstream.post(url("init"), json=envelope({"uuid": "U1", "is_login": "false"}))
        upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
        upstream.post(url("automaticLogin"), json=envelope(None, 500, "自动登录失败"))
        upstream.post(url("getQrCode"), json=envelope({"qrcode": "http://qr.png", "Key": "K2", "Ttl": 600}))
        with app.app_context():
            for attempt in (1, 2):
                started = utcnow()
                assert run_due_actions(app) == 1
                row = session_row(app, "U1")
                assert row.state == "offline" and row.reconnect_attempts == attempt
                wait = (row.next_action_at - started).total_seconds()
                step = 60.0 * 2 ** (attempt - 1)
                assert step / 2 - 1 <= wait <= step + 1, (attempt, wait)
                assert run_due_actions(app) == 0  # not due yet: backoff holds
                make_due(app, "U1")
            assert run_due_actions(app) == 1
            for _ in range(3):
                make_due(app, "U1")
                assert run_due_actions(app) == 0
        row = session_row(app, "U1")
        assert row.state == "needs_person" and row.qrcode == "http://qr.png" and "scan the QR code" in row.state_reason
        assert actions(upstream).count("init") == 3 and actions(upstream).count("getQrCode") == 1
        assert len(received) == 1
        assert received[0]["type"] == "needs_person" and received[0]["vid"] == VID and received[0]["hasQrcode"] is True
        [alert] = events_of(app, stage="alert")
        assert alert.payload["delivery"] == "HTTP 204"
        # A further disconnect signal while a person is needed changes nothing and alerts nobody.
        app.test_client().post(CALLBACK_PATH, json={"uuid": "U1", "type": 100007, "json": "{}"})
        with app.app_context():
            make_due(app, "U1")
            assert run_due_actions(app) == 0
        assert len(received) == 1
    finally:
        server.shutdown()
        app.extensions["wxwork_db"].engine.dispose()


def test_an_upstream_outage_is_not_taken_for_a_dropped_account(app, upstream):
    online_account(app)
    upstream.post(url("GetRunClientByUuid"), status=502, body="bad gateway")
    with app.app_context():
        assert check_pass(app) == {"checked": 1, "offline": 0, "unknown": 1, "overdue": 0}
    assert actions(upstream) == ["GetRunClientByUuid"]
    assert session_row(app, "U1").state == "online"
    assert events_of(app, stage="monitor_check_error")[0].event_type == "GetRunClientByUuid:http_error"


def test_an_unreachable_upstream_during_reconnect_retries_without_giving_up(quick_app, upstream):
    app = quick_app
    online_account(app, state="offline", is_login=False, next_action="reconnect", next_action_at=utcnow())
    upstream.post(url("init"), body=requests.ConnectionError("refused"))
    with app.app_context():
        for _ in range(5):
            make_due(app, "U1")
            run_due_actions(app)
    row = session_row(app, "U1")
    assert row.state == "offline" and row.next_action == "reconnect" and row.reconnect_attempts == 5
    assert events_of(app, stage="alert") == []


def test_secondary_verification_fetches_its_qr_and_alerts_once(quick_app, upstream):
    app = quick_app
    online_account(app)
    qr = {"qrcode": "http://sv.png", "Ttl": 600, "Key": "5DBC31948BB057101F9C6B93569FB39B"}
    upstream.post(url("SecondaryValidation"), json=envelope(qr, 0, "获取二维码成功"))
    body = {"uuid": "U1", "type": 100012, "json": json.dumps({"vid": int(VID), "msg": "出现二次验证"})}
    client = app.test_client()
    for _ in range(3):
        assert client.post(CALLBACK_PATH, json=body).status_code == 200
    with app.app_context():
        run_due_actions(app)
        run_due_actions(app)
    row = session_row(app, "U1")
    assert row.state == "needs_person" and row.qrcode == "http://sv.png" and row.state_reason == "出现二次验证"
    assert actions(upstream) == ["SecondaryValidation"]
    assert len(events_of(app, stage="alert")) == 1


@pytest.mark.parametrize(("vid", "state"), [(VID, "needs_person"), ("", "offline")])
def test_an_expired_qr_code_waits_for_a_person_or_ends(app, client, vid, state):
    add_session(app, "U1", vid=vid, state="waiting_scan", qrcode="http://qr")
    client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100009, "json": json.dumps({"msg": "扫码超时"})})
    row = session_row(app, "U1")
    assert row.state == state and row.qrcode == "" and row.next_action == ""


def test_callback_registration_is_refreshed_when_due(app, upstream):
    online_account(app, callback_registered_at=utcnow() - timedelta(hours=1))
    online_account(app, "FRESH", vid="42")
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    with app.app_context():
        check_pass(app)
    assert sorted(actions(upstream)) == ["GetRunClientByUuid", "GetRunClientByUuid", "SetCallbackUrl"]
    assert sent_json(next(c for c in upstream.calls if c.request.url.endswith("SetCallbackUrl")))["uuid"] == "U1"


def test_the_lease_has_one_owner_and_passes_to_another_when_it_expires(app, monkeypatch):
    with app.app_context():
        monitor_lease.set_enabled(True)
        monkeypatch.setattr(monitor_lease, "process_identity", lambda: "worker-a")
        assert monitor_lease.hold(ttl_s=0.5) is True
        assert monitor_lease.start_pass(interval_s=10) is True
        assert monitor_lease.start_pass(interval_s=10) is False  # once per interval
        monkeypatch.setattr(monitor_lease, "process_identity", lambda: "worker-b")
        assert monitor_lease.hold(ttl_s=0.5) is False
        assert monitor_lease.start_pass(interval_s=0.01) is False  # not the owner
        time.sleep(0.7)  # worker-a died: its lease runs out
        assert monitor_lease.hold(ttl_s=0.5) is True
        assert monitor_lease.current_owner() == "worker-b"
        monitor_lease.set_enabled(False)
        assert monitor_lease.hold(ttl_s=0.5) is False


def test_monitor_runs_on_its_interval_and_stops(database_url, upstream):
    app = make_test_app(database_url, MONITOR_INTERVAL_MS=300, MONITOR_TICK_MS=100)
    online_account(app)
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    client = app.test_client()
    start_scheduler(app)  # this process runs the monitor, as a worker with MONITOR_AUTOSTART does
    try:
        assert client.post("/api/monitor/start").get_json() == {
            "ok": True,
            "monitor": {"enabled": True, "intervalMs": 300},
        }
        started = time.monotonic()
        time.sleep(1.05)
        state = client.get("/api/state").get_json()["monitor"]
        while not state["lastCheckAt"] and time.monotonic() - started < 10:  # a loaded machine lags
            time.sleep(0.05)
            state = client.get("/api/state").get_json()["monitor"]
        assert state["enabled"] is True and state["lastCheckAt"] and state["owner"]
        assert client.post("/api/monitor/stop").get_json() == {"ok": True, "monitor": {"enabled": False}}
        checks = actions(upstream).count("GetRunClientByUuid")
        assert 1 <= checks <= (time.monotonic() - started) / 0.3 + 2
        time.sleep(0.7)
        assert actions(upstream).count("GetRunClientByUuid") <= checks + 1
    finally:
        shutdown_monitor(app)
        app.extensions["wxwork_db"].engine.dispose()


def test_stopped_monitor_reports_disabled(app, client):
    with app.app_context():
        switch_monitor(False)
    assert client.get("/api/state").get_json()["monitor"]["enabled"] is False


def monitor_state_after_a_check(client, seconds=10.0) -> dict:
    """The monitor's status once a check pass has finished, or after `seconds` (a loaded machine lags)."""
    deadline = time.monotonic() + seconds
    while True:
        state = client.get("/api/state").get_json()["monitor"]
        if state["lastCheckAt"] or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_the_switch_starts_no_scheduler_and_says_when_no_process_acts_on_it(database_url, upstream):
    """Issue 12.7: POST /api/monitor/start only sets the switch. In a process that runs no scheduler (a web
    worker when the monitor is its own process) nothing starts, and the status says the monitor is on with
    no owner, not running. A process that runs one takes the lease and acts on the switch, both ways."""
    app = make_test_app(database_url, MONITOR_INTERVAL_MS=300, MONITOR_TICK_MS=100)
    online_account(app)
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    client = app.test_client()
    try:
        assert client.post("/api/monitor/start").get_json()["monitor"]["enabled"] is True
        time.sleep(0.5)
        assert runtime(app).scheduler is None
        state = client.get("/api/state").get_json()["monitor"]
        assert state["enabled"] is True
        assert (state["owner"], state["running"], state["schedulerHere"], state["lastCheckAt"]) == (
            "",
            False,
            False,
            "",
        )
        assert actions(upstream) == []

        start_scheduler(app)  # what a worker with MONITOR_AUTOSTART, or `wxwork monitor run`, runs
        state = monitor_state_after_a_check(client)
        assert state["owner"] and state["schedulerHere"] is True
        assert client.post("/api/monitor/stop").get_json() == {"ok": True, "monitor": {"enabled": False}}
        time.sleep(0.3)  # a pass already under way may finish
        checks = actions(upstream).count("GetRunClientByUuid")
        time.sleep(0.8)
        assert actions(upstream).count("GetRunClientByUuid") == checks  # the holder stopped acting
        assert client.get("/api/state").get_json()["monitor"]["owner"] == ""
    finally:
        shutdown_monitor(app)
        app.extensions["wxwork_db"].engine.dispose()


def test_the_monitor_works_under_flask_debug(database_url, upstream, monkeypatch):
    """Flask-APScheduler's start() silently did nothing under FLASK_DEBUG=1 outside the reloader, while the
    status said a scheduler was here: the scheduler runs the same with it."""
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = make_test_app(database_url, MONITOR_INTERVAL_MS=300, MONITOR_TICK_MS=100)
    online_account(app)
    upstream.post(url("GetRunClientByUuid"), json=envelope(ONLINE))
    client = app.test_client()
    try:
        with app.app_context():
            monitor_lease.set_enabled(True)
        start_scheduler(app)
        state = monitor_state_after_a_check(client)
        assert state["lastCheckAt"] and state["owner"] and state["schedulerHere"] is True
        assert "GetRunClientByUuid" in actions(upstream)
    finally:
        shutdown_monitor(app)
        app.extensions["wxwork_db"].engine.dispose()


def test_a_pass_whose_process_died_is_not_reported_running(app, client, monkeypatch):
    """The status's `running` and `owner` are those of a live lease holder: a pass started by a process that
    then died is not shown running for ever."""
    monkeypatch.setattr(monitor_lease, "process_identity", lambda: "worker-that-dies")
    with app.app_context():
        monitor_lease.set_enabled(True)
        # A lease long enough for the first look to fall within it on a loaded machine (0.3 s did not).
        assert monitor_lease.hold(ttl_s=2.0) and monitor_lease.start_pass(interval_s=10)
    state = client.get("/api/state").get_json()["monitor"]
    assert (state["running"], state["owner"]) == (True, "worker-that-dies")
    time.sleep(2.2)  # the worker died mid-pass: its lease ran out, the pass never finished
    state = client.get("/api/state").get_json()["monitor"]
    assert (state["enabled"], state["running"], state["owner"]) == (True, False, "")


def test_a_person_can_ask_for_a_reconnect_after_the_instance_is_gone(app, client, upstream):
    add_session(app, "U1", vid=VID, state="needs_person", last_event="disconnect:100009")
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("CloseConnent"), json=envelope(None, 500, "实例不存在"))  # 100009: U1 is gone already
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 500, "自动登录失败"))
    upstream.post(url("getQrCode"), json=envelope({"qrcode": "http://fresh.png", "Key": "K9", "Ttl": 600}))
    body = client.post("/api/sessions/reconnect", json={"uuid": "U1"}).get_json()
    assert body["ok"] is True and body["online"] is False
    assert body["session"]["uuid"] == "U2" and body["session"]["qrcode"] == "http://fresh.png"
    assert actions(upstream) == ["init", "CloseConnent", "SetCallbackUrl", "automaticLogin", "getQrCode"]
    assert events_of(app, stage="alert") == []  # the person asking is already here
    upstream.replace("POST", url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    upstream.replace("POST", url("init"), json=envelope({"uuid": "U3", "is_login": "false"}))
    body = client.post("/api/sessions/reconnect", json={"uuid": "U2"}).get_json()
    assert body["online"] is True and body["session"]["state"] == "online"
    add_session(app, "NOVID")
    assert client.post("/api/sessions/reconnect", json={"uuid": "NOVID"}).status_code == 400


def test_a_person_can_renew_the_secondary_validation_qr(app, client, upstream):
    add_session(app, "U1", vid=VID, state="needs_person", last_event="disconnect:100012")
    add_session(app, "U2", vid="42", state="online")
    upstream.post(url("SecondaryValidation"), json=envelope({"qrcode": "http://sv2.png", "Key": "K", "Ttl": 600}))
    body = client.post("/api/sessions/secondary-validation", json={"uuid": "U1"}).get_json()
    assert body["ok"] is True and body["session"]["qrcode"] == "http://sv2.png"
    assert client.post("/api/sessions/secondary-validation", json={"uuid": "U2"}).status_code == 409
    assert actions(upstream) == ["SecondaryValidation"]


PROXY = {"ip": "10.20.30.40", "port": 1080, "proxyType": 2, "userName": "proxy-user", "passward": "pr0xy-s3cret"}


def test_a_reconnect_goes_through_the_proxy_the_account_logged_in_with(quick_app, upstream):
    """The init's proxy is kept sealed on the session and sent again by the monitor's re-init; the
    password is nowhere in clear: not in the row, not in any event."""
    app = quick_app
    client = app.test_client()
    upstream.post(url("init"), json=envelope({"uuid": "U1", "is_login": "true"}))
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("CloseConnent"), json=envelope(None, 0, "关闭成功"))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    assert client.post("/api/init", json={"vid": VID, **PROXY, "proxySituation": 1}).status_code == 200
    sealed = session_row(app, "U1").proxy_sealed
    assert sealed and "pr0xy-s3cret" not in sealed and "10.20.30.40" not in sealed
    disconnect = {"uuid": "U1", "type": 100007, "json": json.dumps({"msg": "登陆缓存失效"})}
    assert client.post(CALLBACK_PATH, json=disconnect).status_code == 200
    make_due(app, "U1")
    with app.app_context():
        assert run_due_actions(app) == 1
    first, again = (sent_json(c) for c in upstream.calls if c.request.url.endswith("/init"))
    assert again == {**first, "vid": int(VID)}
    assert {k: str(again[k]) for k in PROXY} == {k: str(v) for k, v in PROXY.items()}
    assert again["proxySituation"] == 1
    assert session_row(app, "U2").state == "online"
    stored = json.dumps([e.payload for e in events_of(app)], ensure_ascii=False)
    assert "pr0xy-s3cret" not in stored and '"passward": "***"' in stored


def test_a_seal_opens_only_with_its_key(app):
    from wxwork_demo.services.instances.proxy_vault import ProxyUnreadable, proxy_fields, seal, unseal

    with app.app_context():
        assert proxy_fields({"vid": 1, "ip": "", "port": 1080}) == {}  # no address: no proxy
        assert seal({}) is None and unseal(None) == {}
        sealed = seal(proxy_fields({"vid": 1, **PROXY}))
        assert unseal(sealed) == PROXY
        with pytest.raises(ProxyUnreadable):
            unseal(sealed[:-4] + "AAAA")
        app.config["SECRET_KEY"] = "another-key-altogether-0123456789"
        with pytest.raises(ProxyUnreadable):  # a changed key: an error, never "no proxy"
            unseal(sealed)


def test_a_stored_proxy_that_does_not_open_stops_the_reconnect_with_an_alert(quick_app, upstream):
    """Issue 11.2: never a silent downgrade to no proxy. The seal was made under another key (another
    process's, or before SECRET_KEY changed): no init goes out, the account waits for a person, one alert."""
    from wxwork_demo.services.instances.proxy_vault import proxy_fields, seal

    app = quick_app
    with app.app_context():
        app.config["SECRET_KEY"] = "the-key-of-some-other-process-0123456789"
        sealed = seal(proxy_fields({"vid": 1, **PROXY}))
    app.config["SECRET_KEY"] = "the-key-of-this-process-0123456789abc"
    online_account(app, state="offline", is_login=False, next_action="reconnect", next_action_at=utcnow())
    with app.app_context():
        from wxwork_demo.db import db_session
        from wxwork_demo.services.instances.registry import find_instance

        find_instance("U1").proxy_sealed = sealed
        db_session().commit()
        assert run_due_actions(app) == 1
        make_due(app, "U1")
        assert run_due_actions(app) == 0  # nothing left scheduled: a person must act
    assert actions(upstream) == []
    row = session_row(app, "U1")
    assert row.state == "needs_person" and "do not open with this process's key" in row.last_error
    [alert] = events_of(app, stage="alert")
    assert alert.payload["type"] == "needs_person" and "proxy" in alert.payload["reason"]
    assert events_of(app, stage="state")[-1].payload["cause"] == "proxy-unreadable"


def test_a_reconnect_left_half_done_is_run_again_after_its_deadline(quick_app, upstream):
    """Issue 11.1: the claim of a reconnect keeps it scheduled until its deadline, so an attempt whose
    process died (here: a row as the killed lease holder left it, moved to the half-made instance U2 and
    reconnecting) is taken up again, and the half-made instance is closed."""
    app = quick_app
    change_settings(app, reconnect_deadline_s=60.0)
    online_account(app, state="offline", is_login=False, next_action="reconnect", next_action_at=utcnow())
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "false"}))
    upstream.post(url("CloseConnent"), json=envelope(None, 0, "关闭成功"))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), body=requests.ConnectionError("the process died here"))
    with app.app_context():
        from wxwork_demo.services.monitor.reconnect import claim

        [(row_id, action)] = reconnect_due(app)
        assert claim(row_id, action)  # the lease holder claims it ...
        row = session_row(app, "U1")
        assert row.next_action == "reconnect"
        assert 59 <= (row.next_action_at - utcnow()).total_seconds() <= 60  # ... and it stays due at the deadline
        assert run_due_actions(app) == 0  # not before
        make_due(app, "U1")  # the deadline passed: the next lease holder runs it
        upstream.replace("POST", url("init"), json=envelope({"uuid": "U3", "is_login": "false"}))
        upstream.replace("POST", url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
        assert run_due_actions(app) == 1
    row = session_row(app, "U3")
    assert row.state == "online" and row.next_action == "" and row.next_action_at is None
    closed = [sent_json(c)["uuid"] for c in upstream.calls if c.request.url.endswith("CloseConnent")]
    assert closed == ["U1"]


def reconnect_due(app):
    from wxwork_demo.services.monitor.reconnect import due_actions

    with app.app_context():
        return due_actions()


def test_an_account_stuck_reconnecting_or_offline_is_restarted_after_the_deadline(quick_app, upstream):
    """Issue 11.1: an account `reconnecting` or `offline` with nothing scheduled (left by a process killed
    mid-attempt under the old claim, which unscheduled the action first) is reconnected once
    RECONNECT_DEADLINE_S has passed since it entered that state; not before."""
    app = quick_app
    change_settings(app, reconnect_deadline_s=60.0)
    entered = utcnow() - timedelta(seconds=61)
    online_account(app, "U2", state="reconnecting", is_login=False, state_changed_at=entered)
    online_account(app, "U4", vid="77", state="offline", is_login=False, state_changed_at=entered)
    online_account(app, "FRESH", vid="42", state="reconnecting", is_login=False, state_changed_at=utcnow())
    add_session(app, "FIRST", state="offline", state_changed_at=entered)  # no account: nothing to bring back
    for new_uuid in ("U3", "U5"):
        upstream.post(url("init"), json=envelope({"uuid": new_uuid, "is_login": "false"}))
    upstream.post(url("CloseConnent"), json=envelope(None, 0, "关闭成功"))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    with app.app_context():
        assert check_pass(app) == {"checked": 0, "offline": 0, "unknown": 0, "overdue": 2}
        assert run_due_actions(app) == 2
    rows = [session_row(app, uuid) for uuid in ("U3", "U5")]
    assert sorted(row.vid for row in rows) == sorted([VID, "77"]) and {row.state for row in rows} == {"online"}
    assert session_row(app, "FRESH").state == "reconnecting"  # its attempt may still be running
    assert session_row(app, "FIRST").state == "offline"
    restarts = {e.session_uuid: e for e in events_of(app, stage="state") if e.payload["cause"] == "deadline"}
    assert restarts["U2"].event_type == "reconnecting->offline"
    assert "did not finish within 60 s" in restarts["U2"].payload["reason"]
    assert "no reconnect scheduled" in restarts["U4"].payload["reason"]
    closed = sorted(sent_json(c)["uuid"] for c in upstream.calls if c.request.url.endswith("CloseConnent"))
    assert closed == ["U2", "U4"]


def test_a_scan_or_code_wait_past_its_qr_expiry_ends(quick_app, upstream):
    """Issue 11.1: when no 100009 came, QR_EXPIRY_GRACE_S after a QR code's expiry the monitor does what the
    callback would have: a known account waits for a person (one alert), a first login ends."""
    app = quick_app
    long_ago = utcnow() - timedelta(minutes=10)
    add_session(app, "KNOWN", vid=VID, state="waiting_scan", qrcode="http://qr", qrcode_expires_at=long_ago)
    add_session(app, "FIRST", state="waiting_code", qrcode="http://qr2", qrcode_expires_at=long_ago)
    add_session(app, "NO-TTL", state="waiting_scan", qrcode="http://qr3", state_changed_at=long_ago)
    add_session(app, "LIVE", state="waiting_scan", qrcode="http://qr4", qrcode_expires_at=utcnow())
    with app.app_context():
        assert check_pass(app)["overdue"] == 3
        assert check_pass(app)["overdue"] == 0
    known, first, no_ttl, live = (session_row(app, u) for u in ("KNOWN", "FIRST", "NO-TTL", "LIVE"))
    assert known.state == "needs_person" and known.qrcode == "" and "QR code expired" in known.state_reason
    assert first.state == "offline" and no_ttl.state == "offline" and first.qrcode == ""
    assert live.state == "waiting_scan" and live.qrcode == "http://qr4"  # within its grace
    [alert] = events_of(app, stage="alert")
    assert alert.session_uuid == "KNOWN" and alert.payload["vid"] == VID
    assert actions(upstream) == []


def test_a_claimed_action_with_nothing_left_to_do_is_unscheduled(quick_app, upstream):
    """The account came back (a callback got there first) before its claimed reconnect ran: nothing is
    sent, and the action is not left waiting for its deadline."""
    app = quick_app
    online_account(app, next_action="reconnect", next_action_at=utcnow())
    with app.app_context():
        assert run_due_actions(app) == 1
    row = session_row(app, "U1")
    assert row.state == "online" and row.next_action == "" and row.next_action_at is None
    assert actions(upstream) == []
