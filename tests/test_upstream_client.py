"""The upstream client against `responses`: exact bodies sent, and every failure typed."""

import pytest
import requests
import responses

from tests.support import envelope, sent_json
from wxwork_demo.upstream import (
    UpstreamClient,
    UpstreamHTTPError,
    UpstreamNotJSON,
    UpstreamRefused,
    UpstreamTimeout,
    UpstreamUnreachable,
    is_logged_in,
    parse_is_login,
    parse_qrcode,
)

BASE = "http://upstream.test"


@pytest.fixture
def api():
    return UpstreamClient(BASE, connect_timeout=1, read_timeout=1)


@pytest.mark.parametrize(
    ("call", "action", "body"),
    [
        (lambda c: c.set_callback_url("U", "http://cb"), "SetCallbackUrl", {"uuid": "U", "url": "http://cb"}),
        (lambda c: c.get_qrcode("U"), "getQrCode", {"uuid": "U"}),
        (lambda c: c.check_code("U", "K", "123456"), "CheckCode", {"uuid": "U", "qrcodeKey": "K", "code": "123456"}),
        (lambda c: c.automatic_login("U"), "automaticLogin", {"uuid": "U"}),
        (lambda c: c.login_out("U"), "LoginOut", {"uuid": "U"}),
        (lambda c: c.secondary_validation("U"), "SecondaryValidation", {"uuid": "U"}),
        (lambda c: c.get_run_client(), "GetRunClient", {}),
        (lambda c: c.get_run_client_by_uuid("U"), "GetRunClientByUuid", {"uuid": "U"}),
        (lambda c: c.close_connection("U"), "CloseConnent", {"uuid": "U"}),
        (
            lambda c: c.set_proxy("U", {"ip": "1.2.3.4", "port": 1081, "proxyType": "http"}),
            "setProxy",
            {"uuid": "U", "ip": "1.2.3.4", "port": 1081, "proxyType": "http"},
        ),
        (
            lambda c: c.send_text("U", 7881302555913738, False, "hi"),
            "SendTextMsg",
            {"uuid": "U", "kf_id": 0, "send_userid": 7881302555913738, "isRoom": False, "content": "hi"},
        ),
        (
            lambda c: c.inner_contacts("U", 10, "a_b"),
            "GetInnerContacts",
            {"uuid": "U", "limit": 10, "strSeq": "a_b"},
        ),
        (
            lambda c: c.external_contacts("U", 100, 8052931),
            "GetExternalContacts",
            {"uuid": "U", "limit": 100, "seq": 8052931},
        ),
        (lambda c: c.init({"vid": ""}), "init", {"vid": ""}),
    ],
)
@responses.activate
def test_each_endpoint_posts_its_documented_body(api, call, action, body):
    responses.post(f"{BASE}/wxwork/{action}", json=envelope({"x": 1}))
    reply = call(api)
    assert responses.calls[0].request.url == f"{BASE}/wxwork/{action}"
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    assert sent_json(responses.calls[0]) == body
    assert reply.data == {"x": 1} and reply.action == action and reply.request == body


@responses.activate
def test_refused_keeps_errcode_errmsg_and_request(api):
    responses.post(f"{BASE}/wxwork/SendTextMsg", json=envelope(None, 500, "实例未登录"))
    with pytest.raises(UpstreamRefused) as caught:
        api.send_text("U", 1, False, "x")
    assert caught.value.errcode == 500 and caught.value.errmsg == "实例未登录"
    assert caught.value.status == 502 and caught.value.request["uuid"] == "U"
    assert caught.value.to_dict()["kind"] == "refused"


@responses.activate
def test_http_error_not_json_and_non_object(api):
    responses.post(f"{BASE}/wxwork/getQrCode", status=500, body="boom")
    with pytest.raises(UpstreamHTTPError) as caught:
        api.get_qrcode("U")
    assert caught.value.http_status == 500 and caught.value.status == 502
    responses.replace(responses.POST, f"{BASE}/wxwork/getQrCode", body="<html>", status=200)
    with pytest.raises(UpstreamNotJSON):
        api.get_qrcode("U")
    responses.replace(responses.POST, f"{BASE}/wxwork/getQrCode", json=[1, 2], status=200)
    with pytest.raises(UpstreamNotJSON):
        api.get_qrcode("U")


@responses.activate
def test_timeout_and_unreachable_are_typed(api):
    responses.post(f"{BASE}/wxwork/GetRunClient", body=requests.ReadTimeout("slow"))
    with pytest.raises(UpstreamTimeout) as caught:
        api.get_run_client()
    assert caught.value.status == 504
    responses.replace(responses.POST, f"{BASE}/wxwork/GetRunClient", body=requests.ConnectionError("refused"))
    with pytest.raises(UpstreamUnreachable) as unreachable:
        api.get_run_client()
    assert unreachable.value.status == 502


def test_unreachable_for_real_on_a_closed_port():
    api = UpstreamClient("http://127.0.0.1:9", connect_timeout=1, read_timeout=1)
    with pytest.raises(UpstreamUnreachable):
        api.get_run_client()


@responses.activate
def test_errorcode_alongside_errcode_is_success(api):
    responses.post(f"{BASE}/wxwork/CheckCode", json={"data": None, "errcode": 0, "errorcode": 0, "errmsg": "ok"})
    assert api.check_code("U", "K", "123456").envelope["errorcode"] == 0


def test_quirk_readers():
    assert parse_is_login("false") is False and parse_is_login("true") is True and parse_is_login(True) is True
    qr = parse_qrcode({"qrcode": "http://h/x.png", "qrcode_data": "AAAA", "Ttl": 600, "Key": "ABC"})
    assert (qr.image, qr.key, qr.ttl, qr.base64) == ("http://h/x.png", "ABC", 600, "AAAA")
    only_data = parse_qrcode({"qrcode_data": "/9j/4AAQ", "key": "k", "ttl": "30"})
    # The docs' sample image is a JPEG ("/9j/"); a PNG ("iVBOR") is labelled as one.
    assert only_data.image == "data:image/jpeg;base64,/9j/4AAQ" and only_data.key == "k" and only_data.ttl == 30
    assert parse_qrcode({"qrcode_data": "iVBORw0K"}).image == "data:image/png;base64,iVBORw0K"
    assert is_logged_in({"loginType": 2}) and not is_logged_in({"loginType": 1, "user_info": None})
    assert is_logged_in({"loginType": 1, "user_info": {"isLogin": True}})
    assert not is_logged_in(None)


def test_the_proxy_of_the_environment_is_read_once_and_used(monkeypatch):
    """HTTP_PROXY / NO_PROXY are honoured (read when the client is made, not on every call): a real local
    proxy receives the call, with the upstream's absolute URL, and NO_PROXY bypasses it."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            body = json.dumps(envelope({"uuid": "U1", "is_login": "false"})).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("NO_PROXY", "bypassed.invalid")
        proxied = UpstreamClient("http://upstream.invalid:9952", connect_timeout=1, read_timeout=2)
        bypassed = UpstreamClient("http://bypassed.invalid:9952", connect_timeout=1, read_timeout=2)
        monkeypatch.delenv("HTTP_PROXY")  # read once: changing the environment later changes nothing
        assert proxied.init({}).envelope["data"]["uuid"] == "U1"
        assert seen == ["http://upstream.invalid:9952/wxwork/init"]
        with pytest.raises(UpstreamUnreachable):
            bypassed.init({})
        assert len(seen) == 1
    finally:
        server.shutdown()
        server.server_close()
