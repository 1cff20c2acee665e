"""The upstream client against `responses`: exact bodies sent, and every failure typed."""

import time

import pytest
import requests
import responses

from tests.conftest import make_test_app
from tests.support import close_app, envelope, events_of, sent_json
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


class DrippingUpstream:
    """A real local server that answers one byte at a time, `interval` seconds apart, never stalling long enough
    for a read timeout: in its status line and headers (`part="head"`) or in its body (`part="body"`)."""

    def __init__(self, part: str, interval: float = 0.2, total_s: float = 12.0) -> None:
        import socket
        import threading

        self.part, self.interval, self.total_s = part, interval, total_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests = 0
        self.closed_early = threading.Event()
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(sock,), daemon=True).start()

    def _answer(self, sock) -> None:
        import time as clock

        with sock:
            sock.recv(65536)  # the request (small: one recv holds it)
            self.requests += 1
            body = b'{"errcode": 0, "errmsg": "ok", "data": {"uuid": "U-DRIP", "is_login": "false"}}'
            body += b" " * int(self.total_s / self.interval)  # long enough to drip for total_s
            head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
            head += f"Content-Length: {len(body)}\r\n"
            head = head.encode() + b"X-Padding: " + b"x" * int(self.total_s / self.interval) + b"\r\n\r\n"
            quick, dripped = (b"", head + body) if self.part == "head" else (head, body)
            try:
                sock.sendall(quick)
                for index in range(len(dripped)):
                    if self._stop.is_set():
                        return
                    sock.sendall(dripped[index : index + 1])
                    clock.sleep(self.interval)
            except OSError:
                self.closed_early.set()  # the client gave up and closed: what the deadline is for

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()


@pytest.fixture(params=["head", "body"])
def dripping(request):
    server = DrippingUpstream(request.param)
    yield server
    server.stop()


def test_a_dripping_upstream_is_cut_at_the_total_deadline(dripping):
    """Each byte comes well within the read timeout, so only a deadline for the whole call ends it: a real server
    drips its answer (head or body) for 12 s, and the call ends at connect + read timeout (1.5 s)."""
    api = UpstreamClient(dripping.url, connect_timeout=0.5, read_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as caught:
        api.init({})
    elapsed = time.monotonic() - started
    print(f"\ndripping {dripping.part}: cut after {elapsed:.2f} s (deadline {api.deadline_s} s)")
    assert api.deadline_s <= elapsed < api.deadline_s + 1.0, elapsed
    assert caught.value.status == 504 and "1.5 s" in caught.value.message
    assert dripping.closed_early.wait(2), "the connection was not closed"
    # The next call is not hurt by the one that was cut (a fresh connection, the same deadline).
    with pytest.raises(UpstreamTimeout):
        api.init({})
    assert dripping.requests == 2


def test_a_call_that_finishes_in_time_is_untouched_by_its_deadline(dripping):
    """A slow but complete answer inside the deadline is a success, and the connection is kept for the next."""
    dripping.interval, dripping.total_s = 0.002, 0.1
    api = UpstreamClient(dripping.url, connect_timeout=1.0, read_timeout=2.0)
    for _ in range(3):
        assert api.init({}).data["uuid"] == "U-DRIP"


def test_api_init_against_a_dripping_upstream_answers_504_at_the_deadline(database_url):
    """The finding: /api/init held 118 s by an upstream dripping a byte every 2 s with a 3 s read timeout."""
    server = DrippingUpstream("body")
    app = make_test_app(database_url, BASE_URL=server.url, UPSTREAM_CONNECT_TIMEOUT=0.5, UPSTREAM_READ_TIMEOUT=1.0)
    try:
        started = time.monotonic()
        response = app.test_client().post("/api/init", json={})
        elapsed = time.monotonic() - started
        assert response.status_code == 504 and response.get_json()["upstream"]["kind"] == "timeout"
        assert elapsed < 2.5, elapsed
        assert [event.event_type for event in events_of(app)] == ["init:timeout"]
    finally:
        server.stop()
        close_app(app)
