"""The login flow endpoints: what they send upstream, what they answer, what they store."""

import pytest

from tests.conftest import CALLBACK, CALLBACK_TOKEN, UPSTREAM
from tests.support import add_session, envelope, events_of, sent_json, session_row

QR_DATA = {
    "qrcode": "http://47.94.7.218:8083/980343ff.png",
    "qrcode_data": "/9j/4AAQ",
    "Ttl": 600,
    "Key": "5DBC31948BB057101F9C6B93569FB39B",
}


def url(action):
    return f"{UPSTREAM}/wxwork/{action}"


def test_init_sends_all_documented_fields_and_stores_the_session(app, client, upstream):
    upstream.post(url("init"), json=envelope({"uuid": "U1", "is_login": "false"}))
    response = client.post("/api/init", json={"ip": "1.2.3.4", "port": "1081", "passward": "s3cret"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["uuid"] == "U1" and body["isLogin"] is False
    assert body["init"]["data"]["uuid"] == "U1"
    assert sent_json(upstream.calls[0]) == {
        "vid": "",
        "ip": "1.2.3.4",
        "port": "1081",
        "proxyType": "",
        "userName": "",
        "passward": "s3cret",
        "proxySituation": 0,
        "deverType": "ipad",
    }
    row = session_row(app, "U1")
    assert row is not None and row.is_login is False and row.last_event == "init"
    [event] = events_of(app, stage="init")
    assert event.payload["request"]["passward"] == "***"
    assert "s3cret" not in str(event.payload)


def test_init_with_vid_sends_it_as_a_number(client, upstream):
    upstream.post(url("init"), json=envelope({"uuid": "U2", "is_login": "true"}))
    body = client.post("/api/init", json={"vid": "1688857362464764"}).get_json()
    assert body["isLogin"] is True
    assert sent_json(upstream.calls[0])["vid"] == 1688857362464764


def test_init_without_uuid_is_a_400_with_the_raw_answer(app, client, upstream):
    upstream.post(url("init"), json=envelope({}))
    response = client.post("/api/init", json={})
    assert response.status_code == 400
    body = response.get_json()
    assert body["ok"] is False and body["stage"] == "init" and body["raw"] == envelope({})
    assert "uuid" in body["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"vid": "abc"}, "vid"), ({"proxySituation": 5}, "proxySituation"), ({"ip": ["x"]}, "ip")],
)
def test_init_rejects_bad_fields_without_calling_upstream(client, upstream, payload, field):
    response = client.post("/api/init", json=payload)
    assert response.status_code == 400
    assert response.get_json()["field"] == field and response.get_json()["ok"] is False
    assert len(upstream.calls) == 0


def test_set_callback_defaults_to_callback_url_and_active_session(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    body = client.post("/api/set-callback", json={}).get_json()
    # The upstream gets the URL with the secret token; the response never shows it.
    shown = CALLBACK + "?token=***"
    assert body == {"ok": True, "uuid": "U1", "callbackUrl": shown, "callback": envelope(None, 0, "设置成功")}
    assert sent_json(upstream.calls[0]) == {"uuid": "U1", "url": CALLBACK + "?token=" + CALLBACK_TOKEN}
    assert CALLBACK_TOKEN not in str([e.payload for e in events_of(app)])


def test_set_callback_accepts_url_or_callbackUrl(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    client.post("/api/set-callback", json={"uuid": "U1", "callbackUrl": "http://x/cb"})
    client.post("/api/set-callback", json={"uuid": "U1", "url": "http://y/cb"})
    assert [sent_json(c)["url"] for c in upstream.calls] == ["http://x/cb", "http://y/cb"]
    assert client.post("/api/set-callback", json={"url": "ftp://z"}).status_code == 400


def test_unknown_uuid_is_a_404_and_no_session_is_a_400(app, client, upstream):
    response = client.post("/api/get-qrcode", json={})
    assert response.status_code == 400 and response.get_json()["field"] == "uuid"
    add_session(app, "U1")
    response = client.post("/api/get-qrcode", json={"uuid": "nope"})
    assert response.status_code == 404 and response.get_json()["ok"] is False
    assert len(upstream.calls) == 0


def test_get_qrcode_stores_image_and_key(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("getQrCode"), json=envelope(QR_DATA, 0, "获取二维码成功"))
    body = client.post("/api/get-qrcode", json={"uuid": "U1"}).get_json()
    assert body["qrcode"] == QR_DATA["qrcode"] and body["qrcodeKey"] == QR_DATA["Key"] and body["ttl"] == 600
    assert body["getQrCode"]["data"] == QR_DATA
    row = session_row(app, "U1")
    assert row.qrcode == QR_DATA["qrcode"] and row.qrcode_key == QR_DATA["Key"]


def test_start_login_runs_init_callback_and_qrcode(client, upstream):
    upstream.post(url("init"), json=envelope({"uuid": "U9", "is_login": "false"}))
    upstream.post(url("SetCallbackUrl"), json=envelope(None, 0, "设置成功"))
    upstream.post(url("getQrCode"), json=envelope(QR_DATA, 0, "获取二维码成功"))
    body = client.post("/api/start-login", json={"url": "http://me/cb"}).get_json()
    assert body["ok"] is True and body["uuid"] == "U9" and body["qrcodeKey"] == QR_DATA["Key"]
    assert [c.request.url.rsplit("/", 1)[1] for c in upstream.calls] == ["init", "SetCallbackUrl", "getQrCode"]
    assert sent_json(upstream.calls[1]) == {"uuid": "U9", "url": "http://me/cb"}  # not ours: no token


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "", None, 12345, True])
def test_check_code_must_be_six_digits(app, client, upstream, code):
    add_session(app, "U1", qrcode_key="K")
    response = client.post("/api/check-code", json={"code": code})
    assert response.status_code == 400
    assert response.get_json()["field"] == "code"
    assert len(upstream.calls) == 0


def test_check_code_uses_the_stored_key(app, client, upstream):
    add_session(app, "U1", qrcode_key="KEY1")
    upstream.post(url("CheckCode"), json={"data": None, "errcode": 0, "errorcode": 0, "errmsg": "ok"})
    body = client.post("/api/check-code", json={"code": "369130"}).get_json()
    assert body == {"ok": True, "raw": {"data": None, "errcode": 0, "errorcode": 0, "errmsg": "ok"}}
    assert sent_json(upstream.calls[0]) == {"uuid": "U1", "qrcodeKey": "KEY1", "code": "369130"}
    client.post("/api/check-code", json={"code": 123456, "qrcodeKey": "OTHER"})
    assert sent_json(upstream.calls[1])["qrcodeKey"] == "OTHER" and sent_json(upstream.calls[1])["code"] == "123456"


def test_check_code_refused_is_a_400_with_raw(app, client, upstream):
    add_session(app, "U1", qrcode_key="KEY1")
    refused = {"data": None, "errcode": -1, "errmsg": "qrcode_not need verify"}
    upstream.post(url("CheckCode"), json=refused)
    response = client.post("/api/check-code", json={"code": "111111"})
    assert response.status_code == 400
    assert response.get_json()["raw"] == refused and "qrcode_not need verify" in response.get_json()["message"]
    assert session_row(app, "U1").last_error == "qrcode_not need verify"


def test_check_code_without_any_key_is_a_400(app, client, upstream):
    add_session(app, "U1")
    response = client.post("/api/check-code", json={"code": "111111"})
    assert response.status_code == 400 and response.get_json()["field"] == "qrcodeKey"


def test_automatic_login_success_and_failure(app, client, upstream):
    add_session(app, "U1", vid="1688")
    upstream.post(url("automaticLogin"), json=envelope(None, 0, "登陆成功"))
    body = client.post("/api/automatic-login", json={"uuid": "U1"}).get_json()
    assert body == {"ok": True, "raw": envelope(None, 0, "登陆成功")}
    assert session_row(app, "U1").is_login is True
    upstream.replace("POST", url("automaticLogin"), json=envelope(None, 500, "自动登录失败"))
    response = client.post("/api/automatic-login", json={"uuid": "U1"})
    assert response.status_code == 502 and response.get_json()["ok"] is False
    assert response.get_json()["upstream"]["errcode"] == 500


RUN_CLIENT = [{"1688857362464764": {"isLogin": True, "uuid": "U1", "userid": 1688857362464764}}]
BY_UUID_ONLINE = {
    "logintime": 1,
    "loginType": 2,
    "user_info": {"isLogin": True, "userid": 1688857362464764},
    "uuid": "U1",
}


def test_refresh_run_client_calls_both_and_stores_state(app, client, upstream):
    add_session(app, "U1", is_login=False)
    upstream.post(url("GetRunClient"), json=envelope(RUN_CLIENT, 0, "获取成功"))
    upstream.post(url("GetRunClientByUuid"), json=envelope(BY_UUID_ONLINE, 0, "获取成功"))
    body = client.post("/api/refresh-run-client", json={}).get_json()
    assert body["ok"] is True and body["request"] == {"uuid": "U1"}
    assert body["getRunClient"]["data"] == RUN_CLIENT and body["getRunClientByUuid"]["data"] == BY_UUID_ONLINE
    assert {sent_json(c)["uuid"] for c in upstream.calls} == {"U1"}
    assert session_row(app, "U1").is_login is True
    assert {e.event_type for e in events_of(app, stage="refresh_status")} == {"GetRunClient", "GetRunClientByUuid"}


def test_refresh_marks_offline_when_upstream_says_instance_is_gone(app, client, upstream):
    add_session(app, "U1", is_login=True)
    upstream.post(url("GetRunClient"), json=envelope([], 0, "获取成功"))
    upstream.post(url("GetRunClientByUuid"), json=envelope(None, 500, "实例不存在"))
    body = client.post("/api/refresh-run-client", json={"uuid": "U1"}).get_json()
    assert body["ok"] is True and body["isLogin"] is False
    assert body["getRunClientByUuid"]["errmsg"] == "实例不存在"
    row = session_row(app, "U1")
    assert row.is_login is False and row.last_error == "实例不存在"
