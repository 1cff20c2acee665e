"""Deleting an instance (issue 17.7): closed upstream with CloseConnent, then its row removed, from the API
and the CLI; the rows an account leaves behind when it logs in again are closed upstream too."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import requests

from tests.conftest import UPSTREAM
from tests.support import CALLBACK_PATH, add_session, envelope, events_of, sent_json, session_row
from wxwork_demo.chores import EXTENSION_KEY as CHORES
from wxwork_demo.models import utcnow

CLOSE = f"{UPSTREAM}/wxwork/CloseConnent"


def closed_uuids(upstream) -> list[str]:
    return [sent_json(call)["uuid"] for call in upstream.calls if call.request.url == CLOSE]


def test_delete_closes_upstream_then_removes_the_row(app, client, upstream):
    now = utcnow()
    add_session(app, "OLD", vid="111", state="online", is_login=True, updated_at=now - timedelta(minutes=5))
    add_session(app, "STALE", state="waiting_code", updated_at=now)
    upstream.post(CLOSE, json=envelope(None, 0, "关闭成功"))

    response = client.post("/api/sessions/delete", json={"uuid": "STALE"})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["ok"] is True and body["uuid"] == "STALE" and body["upstreamClose"] == "closed"
    assert body["active"]["uuid"] == "OLD"  # the stale login can no longer be the active account
    assert closed_uuids(upstream) == ["STALE"]
    assert session_row(app, "STALE") is None and session_row(app, "OLD") is not None
    [deleted] = events_of(app, stage="delete_instance")
    assert deleted.session_uuid == "STALE" and deleted.payload["state"] == "waiting_code"
    assert deleted.payload["by"] == "api" and deleted.payload["upstreamClose"] == "closed"
    assert [e.event_type for e in events_of(app, stage="close_instance")] == ["CloseConnent"]
    assert [s["uuid"] for s in client.get("/api/state").get_json()["sessions"]] == ["OLD"]


def test_an_instance_the_upstream_no_longer_has_is_deleted_too(app, client, upstream):
    add_session(app, "GONE", state="needs_person")
    upstream.post(CLOSE, json=envelope(None, 500, "实例不存在"))

    body = client.post("/api/sessions/delete", json={"uuid": "GONE"}).get_json()

    assert body["ok"] is True and body["upstreamClose"] == "refused" and "实例不存在" in body["warning"]
    assert body["active"]["uuid"] == ""
    assert session_row(app, "GONE") is None


def test_an_upstream_that_cannot_be_asked_keeps_the_row_unless_forced(app, client, upstream):
    add_session(app, "U1", state="waiting_scan")
    upstream.post(CLOSE, body=requests.ConnectionError("connection refused"))

    refused = client.post("/api/sessions/delete", json={"uuid": "U1"})
    assert refused.status_code == 502
    assert refused.get_json()["ok"] is False and "CloseConnent" in refused.get_json()["message"]
    assert session_row(app, "U1") is not None
    assert [e.event_type for e in events_of(app, stage="close_instance_error")] == ["CloseConnent:unreachable"]

    forced = client.post("/api/sessions/delete", json={"uuid": "U1", "force": True})
    assert forced.status_code == 200
    assert forced.get_json()["upstreamClose"] == "not_closed" and "may live on" in forced.get_json()["warning"]
    assert session_row(app, "U1") is None


def test_delete_needs_a_known_uuid(client, upstream):
    for body in ({}, {"uuid": ""}):
        response = client.post("/api/sessions/delete", json=body)
        assert response.status_code == 400 and response.get_json()["field"] == "uuid"
    response = client.post("/api/sessions/delete", json={"uuid": "nope"})
    assert response.status_code == 404 and response.get_json()["field"] == "uuid"
    assert closed_uuids(upstream) == []


def test_rows_an_account_left_are_closed_upstream_in_the_background(app, client, upstream):
    vid = "1688853790599424"
    add_session(app, "LEFT", vid=vid, state="offline")
    add_session(app, "NEW")
    upstream.post(CLOSE, json=envelope(None, 0, "关闭成功"))
    login = {"user_id": int(vid), "nickname": "姓名"}

    response = client.post(CALLBACK_PATH, json={"uuid": "NEW", "type": 104001, "json": json.dumps(login)})

    assert response.status_code == 200
    assert app.extensions[CHORES]["close-instances"].wait_idle()
    assert closed_uuids(upstream) == ["LEFT"]
    assert session_row(app, "LEFT") is None and session_row(app, "NEW").vid == vid
    [deleted] = events_of(app, stage="delete_instance")
    assert deleted.session_uuid == "LEFT" and deleted.payload["movedTo"] == "NEW" and deleted.payload["by"] == "login"


def test_cli_deletes_an_instance_after_asking(app, runner, upstream):
    add_session(app, "STALE", state="waiting_code")
    upstream.post(CLOSE, json=envelope(None, 0, "关闭成功"))

    kept = runner.invoke(args=["login", "delete", "STALE"], input="n\n")
    assert kept.exit_code == 1 and session_row(app, "STALE") is not None and closed_uuids(upstream) == []

    result = runner.invoke(args=["login", "delete", "STALE"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "deleted STALE" in result.output and "closed upstream" in result.output
    assert session_row(app, "STALE") is None and closed_uuids(upstream) == ["STALE"]


def test_cli_delete_names_the_upstream_failure_and_can_force(app, runner, upstream):
    add_session(app, "U1", state="waiting_scan")
    upstream.post(CLOSE, body=requests.ConnectionError("connection refused"))

    result = runner.invoke(args=["login", "delete", "U1", "--yes"])
    assert result.exit_code == 1
    assert f"CloseConnent unreachable at {UPSTREAM}" in result.output
    assert "--force" in result.output and session_row(app, "U1") is not None

    forced = runner.invoke(args=["login", "delete", "U1", "--yes", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "may live on" in forced.output and session_row(app, "U1") is None


def _login_first_with_codes(app, runner, upstream, codes: str):
    """`wxwork login first` on the mocked upstream, the phone asking for a code once the QR is shown."""

    def url(action):
        return f"{UPSTREAM}/wxwork/{action}"

    upstream.post(url("init"), json=envelope({"uuid": "U1", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("getQrCode"), json=envelope({"qrcode": "http://qr.test/1.png", "Key": "K1", "Ttl": 600}))
    upstream.post(url("GetRunClientByUuid"), json=envelope({"loginType": 1}))
    client = app.test_client()

    def phone():
        deadline = time.monotonic() + 20
        while getattr(session_row(app, "U1"), "state", None) != "waiting_scan" and time.monotonic() < deadline:
            time.sleep(0.05)
        client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100004, "json": json.dumps({"Qrcode_key": "K1"})})
        checks = lambda: [c for c in upstream.calls if c.request.url.endswith("CheckCode")]  # noqa: E731
        while len(checks()) < 2 and not finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        if len(checks()) == 2:  # the second code was accepted
            client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 104001, "json": json.dumps({"user_id": 1688})})

    finished = threading.Event()
    thread = threading.Thread(target=phone)
    thread.start()
    result = runner.invoke(args=["login", "first", "--timeout", "20"], input=codes)
    finished.set()
    thread.join()
    return result


def test_cli_asks_again_for_a_refused_code(app, runner, upstream):
    check = f"{UPSTREAM}/wxwork/CheckCode"
    upstream.post(check, json={"data": None, "errcode": -1, "errmsg": "验证码错误"})
    upstream.post(check, json={"data": None, "errcode": 0, "errorcode": 0, "errmsg": "ok"})

    result = _login_first_with_codes(app, runner, upstream, "111111\n123456\n")

    assert result.exit_code == 0, result.output
    assert "verification code refused: 验证码错误; try again (attempt 2 of 3)" in result.output
    assert "logged in: uuid=U1 vid=1688" in result.output
    sent = [sent_json(c)["code"] for c in upstream.calls if c.request.url == check]
    assert sent == ["111111", "123456"]


def test_cli_giving_up_on_the_code_deletes_the_instance(app, runner, upstream):
    upstream.post(f"{UPSTREAM}/wxwork/CheckCode", json={"data": None, "errcode": -1, "errmsg": "验证码错误"})
    upstream.post(CLOSE, json=envelope(None, 0, "关闭成功"))

    result = _login_first_with_codes(app, runner, upstream, "111111\n\n")

    assert result.exit_code == 1
    assert "gave up: instance U1 deleted (closed upstream)" in result.output
    assert session_row(app, "U1") is None and closed_uuids(upstream) == ["U1"]
