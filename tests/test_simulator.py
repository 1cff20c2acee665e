"""End-to-end tests of the upstream simulator (wxwork_demo.simulator) over real HTTP.

Every test starts its own SimulatorServer on a free port and, where callbacks matter, a tiny real HTTP
receiver; both are stopped by the fixtures. Nothing here uses tests/conftest.py.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from wxwork_demo.simulator import SimulatorServer, create_simulator_app

DEMO_USER_ID = 1688857362464764
PROFILE_KEYS = {"user_id", "corp_id", "nickname", "realname", "acctid", "avatar", "mobile", "corp_name"}
SCAN_KEYS = {"Vid", "Qrcode_key", "Corpid", "Nick_name", "Icon_url", "Logo"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# Short retry pause so the retry tests stay fast.
FAST = {"callback_retry_delay": 0.05, "callback_timeout": 2}


# ----- helpers and fixtures -----------------------------------------------------------------------


class Upstream:
    """Minimal client of the simulator: upstream calls plus the control surface."""

    def __init__(self, base: str) -> None:
        self.base = base

    def raw(self, action: str, body: dict[str, Any] | None = None, timeout: float = 5) -> requests.Response:
        return requests.post(f"{self.base}/wxwork/{action}", json=body or {}, timeout=timeout)

    def call(self, action: str, **body: Any) -> dict[str, Any]:
        response = self.raw(action, body)
        assert response.status_code == 200, response.text
        return response.json()

    def ok(self, action: str, **body: Any) -> Any:
        result = self.call(action, **body)
        assert result["errcode"] == 0, result
        return result["data"]

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return requests.request(method, f"{self.base}/_sim/{path}", json=body, timeout=5)

    def scan(self, uuid: str, **extra: Any) -> dict[str, Any]:
        response = self.control("POST", "scan", {"uuid": uuid, **extra})
        assert response.status_code == 200, response.text
        return response.json()


class CallbackReceiver:
    """Single-threaded HTTP server recording callback bodies; can fail the first N requests."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.delay = delay
        self.requests_seen = 0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._cond:
                    receiver.requests_seen += 1
                    failing = receiver.requests_seen <= receiver.fail_first
                    if not failing:
                        receiver.events.append(json.loads(body))
                        receiver._cond.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/wxwork/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 5) -> list[dict[str, Any]]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)

    def types(self, uuid: str | None = None) -> list[int]:
        with self._cond:
            return [e["type"] for e in self.events if uuid is None or e["uuid"] == uuid]

    def payloads(self, type_: int) -> list[dict[str, Any]]:
        with self._cond:
            return [json.loads(e["json"]) for e in self.events if e["type"] == type_]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def make_sim() -> Iterator[Callable[..., tuple[SimulatorServer, Upstream]]]:
    servers: list[SimulatorServer] = []

    def make(**settings: Any) -> tuple[SimulatorServer, Upstream]:
        server = SimulatorServer(port=0, settings={**FAST, **settings}).start()
        servers.append(server)
        return server, Upstream(server.url)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def up(make_sim: Callable[..., tuple[SimulatorServer, Upstream]]) -> Upstream:
    return make_sim()[1]


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., CallbackReceiver]]:
    receivers: list[CallbackReceiver] = []

    def make(**kwargs: Any) -> CallbackReceiver:
        receiver = CallbackReceiver(**kwargs)
        receivers.append(receiver)
        return receiver

    yield make
    for receiver in receivers:
        receiver.close()


@pytest.fixture
def receiver(make_receiver: Callable[..., CallbackReceiver]) -> CallbackReceiver:
    return make_receiver()


def first_login(up: Upstream, receiver: CallbackReceiver | None = None, **scan: Any) -> tuple[str, int]:
    """init (new device) -> SetCallbackUrl -> getQrCode -> scan -> CheckCode. Returns (uuid, user_id)."""
    uuid = up.ok("init", vid="", deverType="ipad")["uuid"]
    if receiver is not None:
        up.ok("SetCallbackUrl", uuid=uuid, url=receiver.url)
    key = up.ok("getQrCode", uuid=uuid)["Key"]
    scanned = up.scan(uuid, **scan)
    assert scanned["needCode"] is True
    up.ok("CheckCode", uuid=uuid, qrcodeKey=key, code=scanned["code"])
    return uuid, scanned["user_id"]


def login_type(up: Upstream, uuid: str) -> int:
    return up.ok("GetRunClientByUuid", uuid=uuid)["loginType"]


# ----- login state machine ------------------------------------------------------------------------


def test_first_login_with_code_emits_callbacks_in_order(up: Upstream, receiver: CallbackReceiver) -> None:
    init = up.call("init", vid="", ip="", port="", proxyType="", userName="", passward="", deverType="ipad")
    assert init["errcode"] == 0 and init["errmsg"] == "ok"
    assert init["data"]["is_login"] == "false"
    uuid = init["data"]["uuid"]
    before = up.ok("GetRunClientByUuid", uuid=uuid)
    assert before["loginType"] == 1 and before["user_info"] is None

    assert up.call("SetCallbackUrl", uuid=uuid, url=receiver.url) == {
        "data": None,
        "errcode": 0,
        "errmsg": "设置成功",
    }
    qr = up.call("getQrCode", uuid=uuid)
    assert qr["errmsg"] == "获取二维码成功"
    data = qr["data"]
    assert set(data) == {"qrcode", "qrcode_data", "Ttl", "Key"}
    assert data["Ttl"] == 600 and re.fullmatch(r"[0-9A-F]{32}", data["Key"])
    assert not data["qrcode_data"].startswith("data:")
    # 02-login: qrcode_data is a JPEG (/9j/...); the image's file name is random, not the Key.
    assert data["qrcode_data"].startswith("/9j/")
    assert base64.b64decode(data["qrcode_data"]).startswith(JPEG_MAGIC)
    assert data["Key"] not in data["qrcode"] and re.search(r"/[0-9a-f-]{36}\.png$", data["qrcode"])
    image = requests.get(data["qrcode"], timeout=5)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.content == base64.b64decode(data["qrcode_data"])

    scanned = up.scan(uuid)
    assert scanned["ok"] is True and scanned["needCode"] is True and re.fullmatch(r"\d{6}", scanned["code"])
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == [100001, 100004]
    for event in events:
        assert set(event) == {"uuid", "json", "type"}
        assert event["uuid"] == uuid and isinstance(event["json"], str) and isinstance(event["type"], int)
        payload = json.loads(event["json"])
        assert set(payload) == SCAN_KEYS and payload["Qrcode_key"] == data["Key"]
        assert payload["Vid"] == DEMO_USER_ID
    assert login_type(up, uuid) == 1

    wrong_code = up.call(
        "CheckCode",
        uuid=uuid,
        qrcodeKey=data["Key"],
        code="000000" if scanned["code"] != "000000" else "111111",
    )
    assert wrong_code["errcode"] != 0 and wrong_code["errorcode"] == wrong_code["errcode"]
    wrong_key = up.call("CheckCode", uuid=uuid, qrcodeKey="0" * 32, code=scanned["code"])
    assert wrong_key["errcode"] != 0
    assert login_type(up, uuid) == 1

    ok = up.call("CheckCode", uuid=uuid, qrcodeKey=data["Key"], code=scanned["code"])
    assert ok == {"data": None, "errcode": 0, "errorcode": 0, "errmsg": "ok"}
    events = receiver.wait_for(4)
    assert [e["type"] for e in events] == [100001, 100004, 100002, 104001]
    profile = json.loads(events[3]["json"])
    assert set(profile) >= PROFILE_KEYS
    assert profile["user_id"] == DEMO_USER_ID and profile["realname"] == "刘演示"
    assert profile["corp_name"] == "明月科技"
    # 20-callback-login: Vid, Corpid and Corp_name are 0, 0 and ""; the corp's name is Corp_full_name.
    assert (profile["Vid"], profile["Corpid"], profile["Corp_name"]) == (0, 0, "")
    assert profile["Corp_full_name"] == "明月科技有限公司"

    after = up.ok("GetRunClientByUuid", uuid=uuid)
    assert after["loginType"] == 2 and after["uuid"] == uuid and after["logintime"] > 0
    info = after["user_info"]
    assert info["isLogin"] is True and info["userid"] == DEMO_USER_ID and info["uuid"] == uuid
    assert info["object"]["user_id"] == DEMO_USER_ID and "corp_full_name" in info["object"]

    again = up.call("CheckCode", uuid=uuid, qrcodeKey=data["Key"], code=scanned["code"])
    assert again["errcode"] != 0 and again["errmsg"] == "qrcode_not need verify"

    clients = up.ok("GetRunClient")
    assert clients == [{str(DEMO_USER_ID): clients[0][str(DEMO_USER_ID)]}]
    entry = clients[0][str(DEMO_USER_ID)]
    assert entry["isLogin"] is True and entry["clientId"] == uuid and entry["userid"] == DEMO_USER_ID
    assert "Corp_full_name" in entry["object"]


def test_check_code_without_scan_needs_no_verify(up: Upstream) -> None:
    uuid = up.ok("init")["uuid"]
    key = up.ok("getQrCode", uuid=uuid)["Key"]
    result = up.call("CheckCode", uuid=uuid, qrcodeKey=key, code="123456")
    assert result["errcode"] != 0 and result["errorcode"] != 0
    assert result["errmsg"] == "qrcode_not need verify"


def test_scan_names_another_account_deterministically(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim()
    uuid, user_id = first_login(up, user_id="1688850000000042")
    assert user_id == 1688850000000042
    profile = up.ok("GetRunClientByUuid", uuid=uuid)["user_info"]["object"]
    _, other = make_sim()
    uuid2, _ = first_login(other, user_id=1688850000000042)
    assert other.ok("GetRunClientByUuid", uuid=uuid2)["user_info"]["object"] == profile


def test_reused_device_scan_needs_no_code(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, user_id = first_login(up)
    logout = up.call("LoginOut", uuid=uuid)
    assert logout == {
        "data": {"code": 0, "errMsg": "ok", "obj": {}, "pbObj": None},
        "errcode": 0,
        "errmsg": "退出成功",
    }
    state = up.ok("GetRunClientByUuid", uuid=uuid)
    assert state["loginType"] == 1 and state["user_info"]["isLogin"] is False

    init = up.ok("init", vid=str(user_id))
    # A16: "如果初始化传了id则用初始化的id作为uuid".
    assert init["is_login"] == "false" and init["uuid"] == str(user_id) != uuid
    uuid2 = init["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid2, callbackUrl=receiver.url)  # alias of `url`
    key = up.ok("getQrCode", uuid=uuid2)["Key"]
    scanned = up.scan(uuid2)
    assert scanned == {"ok": True, "needCode": False, "code": None, "user_id": user_id}
    events = receiver.wait_for(3)
    assert [e["type"] for e in events] == [100001, 100002, 104001]
    assert all(e["uuid"] == uuid2 for e in events)
    assert json.loads(events[0]["json"])["Qrcode_key"] == key
    assert login_type(up, uuid2) == 2
    not_needed = up.call("CheckCode", uuid=uuid2, qrcodeKey=key, code="123456")
    assert not_needed["errmsg"] == "qrcode_not need verify"


def test_init_with_vid_of_running_login_returns_that_instance(up: Upstream) -> None:
    uuid, user_id = first_login(up)
    assert up.ok("init", vid=user_id) == {"uuid": uuid, "is_login": "true"}


def test_automatic_login_success_and_failures(up: Upstream, receiver: CallbackReceiver) -> None:
    fresh = up.ok("init", vid="")["uuid"]
    failed = up.call("automaticLogin", uuid=fresh)
    assert failed["errcode"] != 0 and login_type(up, fresh) == 1

    unknown_vid = up.ok("init", vid=1688850000009999)["uuid"]
    assert up.call("automaticLogin", uuid=unknown_vid)["errcode"] != 0

    uuid, user_id = first_login(up)
    up.ok("LoginOut", uuid=uuid)
    uuid2 = up.ok("init", vid=user_id)["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid2, url=receiver.url)
    assert up.call("automaticLogin", uuid=uuid2) == {"data": None, "errcode": 0, "errmsg": "登陆成功"}
    events = receiver.wait_for(1)
    assert [e["type"] for e in events] == [104001]
    assert json.loads(events[0]["json"])["user_id"] == user_id
    assert login_type(up, uuid2) == 2

    # An account flagged as needing a person cannot log in automatically any more.
    up.ok("LoginOut", uuid=uuid2)
    flagged = up.control("POST", "accounts", {"user_id": str(user_id), "needs_scan": True})
    assert flagged.json()["account"]["needs_scan"] is True
    uuid3 = up.ok("init", vid=user_id)["uuid"]
    refused = up.call("automaticLogin", uuid=uuid3)
    assert refused["errcode"] != 0 and login_type(up, uuid3) == 1


def test_unscanned_qr_expires_destroys_instance_and_sends_100009(
    make_sim: Callable[..., Any], receiver: CallbackReceiver
) -> None:
    _, up = make_sim(qr_ttl=1)
    uuid = up.ok("init")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url=receiver.url)
    qr = up.ok("getQrCode", uuid=uuid)
    assert qr["Ttl"] == 1
    events = receiver.wait_for(1, timeout=4)
    assert [e["type"] for e in events] == [100009]
    assert json.loads(events[0]["json"]) == {"vid": 0, "msg": "初始化接口二维码扫码超时断开"}
    assert up.call("GetRunClientByUuid", uuid=uuid) == {"data": None, "errcode": 500, "errmsg": "实例不存在"}
    assert requests.get(qr["qrcode"], timeout=5).status_code == 404
    assert up.control("POST", "scan", {"uuid": uuid}).status_code == 404


DISCONNECTS = {
    100005: "手机端结束登录",
    100007: "登陆缓存失效，请重新登录。",
    100008: "当前账号在其他设备登录，请重新扫码登录",
}


@pytest.mark.parametrize("code", sorted(DISCONNECTS))
def test_disconnect_takes_instance_offline(up: Upstream, receiver: CallbackReceiver, code: int) -> None:
    uuid, user_id = first_login(up, receiver)
    receiver.wait_for(4)
    dropped = up.control("POST", "drop", {"uuid": uuid, "type": code})
    assert dropped.status_code == 200 and dropped.json()["payload"] == {
        "vid": user_id,
        "msg": DISCONNECTS[code],
    }
    events = receiver.wait_for(5)
    assert events[-1]["type"] == code
    assert json.loads(events[-1]["json"]) == {"vid": user_id, "msg": DISCONNECTS[code]}
    state = up.ok("GetRunClientByUuid", uuid=uuid)
    assert state["loginType"] == 1 and state["user_info"]["isLogin"] is False
    send = up.call("SendTextMsg", uuid=uuid, send_userid=7881302555913738, isRoom=False, content="hi")
    assert send == {"data": None, "errcode": 500, "errmsg": "实例未登录"}
    assert up.call("GetInnerContacts", uuid=uuid, limit=10, strSeq="")["errcode"] == 500


def test_drop_100009_destroys_instance(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    assert up.control("POST", "drop", {"uuid": uuid, "type": 100009}).status_code == 200
    assert receiver.wait_for(5)[-1]["type"] == 100009
    assert up.call("GetRunClientByUuid", uuid=uuid)["errmsg"] == "实例不存在"


def test_secondary_verification_gate_and_clearing(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, user_id = first_login(up, receiver)
    receiver.wait_for(4)
    dropped = up.control("POST", "drop", {"uuid": uuid, "type": 100012}).json()
    expected = {"vid": user_id, "msg": "出现二次验证，请重新获取二维码扫码验证登录", "uuid": uuid}
    assert dropped["payload"] == expected
    assert json.loads(receiver.wait_for(5)[-1]["json"]) == expected

    # Every call answers -11025, the status call included (upstream-api-more.md §7).
    gate = {"data": None, "errcode": -11025, "errmsg": "出现二次验证，请重新获取二维码登录"}
    assert up.call("SendTextMsg", uuid=uuid, send_userid=1, isRoom=False, content="x") == gate
    assert up.call("GetExternalContacts", uuid=uuid, limit=10, seq=0) == gate
    assert up.call("SetCallbackUrl", uuid=uuid, url=receiver.url) == gate
    assert up.call("LoginOut", uuid=uuid) == gate
    assert up.call("GetRunClientByUuid", uuid=uuid) == gate
    assert up.ok("GetRunClient")[0][str(user_id)]["isLogin"] is True  # still logged in
    assert up.control("GET", "state").json()["instances"][0]["secondary_pending"] is True

    # Scanning before SecondaryValidation issued a QR is refused.
    assert up.control("POST", "scan", {"uuid": uuid}).status_code == 400
    second = up.call("SecondaryValidation", uuid=uuid)
    assert second["errcode"] == 0 and set(second["data"]) == {"qrcode", "Ttl", "Key"}
    assert requests.get(second["data"]["qrcode"], timeout=5).content.startswith(JPEG_MAGIC)
    assert up.scan(uuid)["needCode"] is False
    # The docs promise no callback after secondary verification: the calls just work again.
    echo = up.ok("SendTextMsg", uuid=uuid, send_userid=1, isRoom=False, content="x")
    assert echo["content"] == "x" and login_type(up, uuid) == 2
    time.sleep(0.3)
    assert receiver.types(uuid)[-1] == 100012


def test_secondary_verification_generous_variants(make_sim: Callable[..., Any], receiver: CallbackReceiver) -> None:
    _, up = make_sim(secondary_exempts_status_calls=True, secondary_scan_sends_login_callbacks=True)
    uuid, _ = first_login(up, receiver)
    receiver.wait_for(4)
    up.control("POST", "drop", {"uuid": uuid, "type": 100012})
    assert login_type(up, uuid) == 2  # the status call is exempt
    up.ok("SecondaryValidation", uuid=uuid)
    up.scan(uuid)
    assert [e["type"] for e in receiver.wait_for(8)[-3:]] == [100001, 100002, 104001]


def test_secondary_verification_some_time_after_a_first_login(
    make_sim: Callable[..., Any], receiver: CallbackReceiver
) -> None:
    _, up = make_sim(secondary_after_first_login_s=0.5)
    uuid, _ = first_login(up, receiver)
    assert up.ok("GetRunClientByUuid", uuid=uuid)["loginType"] == 2
    assert receiver.wait_for(5, timeout=3)[-1]["type"] == 100012
    assert up.call("GetRunClientByUuid", uuid=uuid)["errcode"] == -11025
    # The control API can ask for the same, later, on any logged-in instance.
    _, later = make_sim()
    other, _ = first_login(later, receiver)
    delayed = later.control("POST", "drop", {"uuid": other, "type": 100012, "after_s": 0.3}).json()
    assert delayed["payload"]["after_s"] == 0.3 and later.call("GetRunClientByUuid", uuid=other)["errcode"] == 0
    time.sleep(0.8)
    assert later.call("GetRunClientByUuid", uuid=other)["errcode"] == -11025


def test_unknown_uuid_unknown_action_and_not_logged_in(up: Upstream) -> None:
    unknown = {"data": None, "errcode": 500, "errmsg": "实例不存在"}
    for action in ("GetRunClientByUuid", "getQrCode", "SendTextMsg", "LoginOut", "CloseConnent", "CheckCode"):
        result = up.call(action, uuid="00000000-0000-0000-0000-000000000000")
        assert {k: result[k] for k in ("data", "errcode", "errmsg")} == unknown
    assert up.raw("NoSuchAction", {"uuid": "x"}).status_code == 404
    assert up.raw("getqrcode", {}).status_code == 404  # path case matters
    uuid = up.ok("init")["uuid"]
    for action in ("SendTextMsg", "GetInnerContacts", "GetExternalContacts", "LoginOut"):
        assert up.call(action, uuid=uuid) == {"data": None, "errcode": 500, "errmsg": "实例未登录"}


def test_close_connent_and_set_proxy(up: Upstream) -> None:
    proxy = {"ip": "10.0.0.1", "port": "1081", "proxyType": "http", "userName": "u", "passward": "pw-SECRET"}
    uuid = up.ok("init", vid="", **proxy)["uuid"]
    state_text = up.control("GET", "state").text
    assert "pw-SECRET" not in state_text and "10.0.0.1" in state_text
    # proxySituation omitted with a proxy -> global, which cannot be removed.
    assert up.call("setProxy", uuid=uuid, ip="127.0.0.1", port=0)["errcode"] != 0
    assert up.call("setProxy", uuid=uuid, ip="10.0.0.2", port=1082, passward="pw2-SECRET")["errcode"] == 0
    assert "pw2-SECRET" not in up.control("GET", "state").text
    removable = up.ok("init", ip="10.0.0.1", port="1081", proxySituation=0)["uuid"]
    assert up.call("setProxy", uuid=removable, ip="127.0.0.1")["errcode"] == 0
    assert up.call("CloseConnent", uuid=uuid) == {"data": None, "errcode": 0, "errmsg": "关闭成功"}
    assert up.call("GetRunClientByUuid", uuid=uuid)["errmsg"] == "实例不存在"


# ----- callbacks ----------------------------------------------------------------------------------


def test_callback_retried_until_receiver_accepts(
    make_sim: Callable[..., Any], make_receiver: Callable[..., CallbackReceiver]
) -> None:
    _, up = make_sim(callback_retries=3)
    receiver = make_receiver(fail_first=2)
    uuid = up.ok("init")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url=receiver.url)
    up.ok("getQrCode", uuid=uuid)
    up.scan(uuid)
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == [100001, 100004]  # order kept through the retries
    attempts = up.control("GET", f"callbacks?uuid={uuid}").json()["attempts"]
    first = [a for a in attempts if a["type"] == 100001]
    assert [(a["attempt"], a["status"], a["ok"]) for a in first] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]


def test_callback_gives_up_after_retries_and_logs_errors(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim(callback_retries=1)
    uuid = up.ok("init")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url="http://127.0.0.1:9/nowhere")  # port 9: nothing listens
    up.ok("getQrCode", uuid=uuid)
    up.scan(uuid)
    deadline = time.monotonic() + 5
    attempts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        attempts = up.control("GET", "callbacks").json()["attempts"]
        if len(attempts) >= 4:
            break
        time.sleep(0.05)
    assert [(a["type"], a["attempt"]) for a in attempts] == [
        (100001, 1),
        (100001, 2),
        (100004, 1),
        (100004, 2),
    ]
    assert all(not a["ok"] and a["status"] is None and a["error"] for a in attempts)


def test_callbacks_are_delivered_outside_the_triggering_request(
    up: Upstream, make_receiver: Callable[..., CallbackReceiver]
) -> None:
    slow = make_receiver(delay=0.5)
    uuid = up.ok("init")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url=slow.url)
    up.ok("getQrCode", uuid=uuid)
    started = time.monotonic()
    up.scan(uuid)
    assert time.monotonic() - started < 0.4
    assert [e["type"] for e in slow.wait_for(2)] == [100001, 100004]


def test_incoming_message_callback(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, user_id = first_login(up, receiver)
    receiver.wait_for(4)
    message = {"uuid": uuid, "content": "你好", "sender": "7881302555913738"}
    first = up.control("POST", "message", message).json()
    room = up.control(
        "POST", "message", {"uuid": uuid, "content": "群里好", "is_room": True, "room_conversation_id": "R:1"}
    ).json()
    events = receiver.wait_for(6)
    assert [e["type"] for e in events[-2:]] == [102000, 102000]
    payload = json.loads(events[-2]["json"])
    assert payload == first["payload"]
    assert payload["content"] == "你好" and payload["sender"] == 7881302555913738
    assert payload["receiver"] == user_id and payload["referid"] == 0 and payload["msgtype"] == 2
    assert payload["is_room"] == 0 and isinstance(payload["send_time"], int) and payload["msg_id"]
    room_payload = json.loads(events[-1]["json"])
    assert room_payload["is_room"] == 1 and room_payload["room_conversation_id"] == "R:1"
    assert room_payload["server_id"] > payload["server_id"]
    assert room["payload"]["sender"] > 0  # default sender: one of the external contacts
    fresh = up.ok("init")["uuid"]
    assert up.control("POST", "message", {"uuid": fresh, "content": "x"}).status_code == 400
    assert up.control("POST", "message", {"uuid": "nope", "content": "x"}).status_code == 404


# ----- messages and contacts ----------------------------------------------------------------------


def test_send_text_msg_echoes_and_stores(up: Upstream) -> None:
    uuid, user_id = first_login(up)
    body = {"kf_id": 0, "send_userid": "7881302555913738", "isRoom": False, "content": "ddd"}
    echo = up.ok("SendTextMsg", uuid=uuid, **body)
    assert set(echo) == {
        "receiver", "sender", "at_list", "sender_name", "app_info", "is_room",
        "sendtime", "msg_id", "server_id", "msgtype", "content",
    }  # fmt: skip
    assert echo["receiver"] == 7881302555913738 and echo["sender"] == user_id
    assert echo["is_room"] == 0 and echo["msgtype"] == 2 and echo["content"] == "ddd"
    room = up.ok("SendTextMsg", uuid=uuid, send_userid=10696051737489839, isRoom=True, content="群")
    assert room["is_room"] == 1 and room["msg_id"] > echo["msg_id"]
    assert up.call("SendTextMsg", uuid=uuid, isRoom=False, content="x")["errcode"] != 0

    sent = up.control("GET", "sent").json()
    assert sent["total"] == 2
    first = sent["messages"][0]
    assert {k: first[k] for k in ("uuid", "send_userid", "isRoom", "content", "kf_id")} == {
        "uuid": uuid,
        "send_userid": 7881302555913738,
        "isRoom": False,
        "content": "ddd",
        "kf_id": 0,
    }
    assert isinstance(first["time"], float)
    assert up.control("DELETE", "sent").status_code == 200
    assert up.control("GET", "sent").json()["messages"] == []


def test_inner_contacts_page_to_the_end(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim()
    uuid, _ = first_login(up)
    entries: list[dict[str, Any]] = []
    seq = ""
    for _ in range(100):
        data = up.ok("GetInnerContacts", uuid=uuid, limit=7, strSeq=seq)
        entries += data["list"]
        seq = data["seq"]
        assert isinstance(seq, str)
        if seq == "":
            break
        assert len(data["list"]) == 7 and "_" in seq
    assert seq == ""
    departments = [e for e in entries if e["is_Department"] == 1]
    people = [e for e in entries if e["is_Department"] == 0]
    assert len(people) == 60 and 4 <= len(departments) <= 8
    assert len({d["partyid"] for d in departments}) == len(departments)
    assert len({p["user_id"] for p in people}) == 60
    assert DEMO_USER_ID in {p["user_id"] for p in people}
    party_ids = {d["partyid"] for d in departments}
    assert all(p["partyid"] in party_ids and str(p["user_id"]).startswith("1688") for p in people)
    assert all(p["SelfAttrInfo"][0]["filed_name"] for p in people)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", p["realname"]) for p in people)
    assert departments[0]["parentid"] == 0 and departments[0]["party_name"] == "明月科技"

    # Missing limit means 100, which holds this whole directory; a made-up cursor is refused.
    whole = up.ok("GetInnerContacts", uuid=uuid)
    assert whole["list"] == entries and whole["seq"] == ""
    assert up.call("GetInnerContacts", uuid=uuid, limit=5, strSeq="1_2_3_4_0_5_0")["errcode"] != 0

    # The same seed gives the same directory in another simulator.
    _, other = make_sim()
    uuid2, _ = first_login(other)
    assert other.ok("GetInnerContacts", uuid=uuid2, limit=1000, strSeq="")["list"] == entries


def test_external_contacts_page_to_the_end(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim(contacts_external=250)
    uuid, _ = first_login(up)
    items: list[dict[str, Any]] = []
    seq: Any = 0
    pages = 0
    while True:
        data = up.ok("GetExternalContacts", uuid=uuid, limit=40, seq=seq)
        if not data["list"]:
            assert data["seq"] == seq  # past the end: empty list, same cursor
            break
        assert data["seq"] == data["list"][-1]["seq"]
        items += data["list"]
        seq = str(data["seq"]) if pages % 2 else data["seq"]  # numeric strings are accepted too
        pages += 1
        assert pages < 50
    assert len(items) == 250 and pages == 7
    assert len({c["user_id"] for c in items}) == 250
    assert all(str(c["user_id"]).startswith("788") for c in items)
    seqs = [c["seq"] for c in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == 250
    statuses = {c["status"] for c in items}
    assert {2049, 8} <= statuses

    # Legacy clients send strSeq to this endpoint; the limit is capped, not refused.
    legacy = up.ok("GetExternalContacts", uuid=uuid, limit=10, strSeq=str(items[9]["seq"]))
    assert legacy["list"] == items[10:20]
    capped = up.ok("GetExternalContacts", uuid=uuid, limit=100000, seq=0)
    assert capped["list"] == items
    assert up.ok("GetExternalContacts", uuid=uuid)["list"] == items[:100]


# ----- control surface ----------------------------------------------------------------------------


def test_call_counters_per_uuid(up: Upstream) -> None:
    a = up.ok("init")["uuid"]
    b = up.ok("init")["uuid"]
    assert up.control("DELETE", "calls").status_code == 200
    for _ in range(3):
        up.ok("GetRunClientByUuid", uuid=a)
    up.ok("GetRunClientByUuid", uuid=b)
    up.raw("Unknown", {})
    calls = up.control("GET", "calls").json()
    assert calls["by_uuid"][a] == {"GetRunClientByUuid": 3}
    assert calls["by_uuid"][b] == {"GetRunClientByUuid": 1}
    assert calls["by_action"] == {"GetRunClientByUuid": 4, "Unknown": 1} and calls["total"] == 5
    only_a = up.control("GET", f"calls?uuid={a}").json()
    assert list(only_a["by_uuid"]) == [a] and len(only_a["recent"]) == 3
    up.control("DELETE", "calls")
    assert up.control("GET", "calls").json()["total"] == 0


def test_bulk_login_creates_logged_in_sessions(up: Upstream, receiver: CallbackReceiver) -> None:
    created = up.control("POST", "bulk-login", {"count": 200, "callback_url": receiver.url}).json()
    instances = created["instances"]
    assert len(instances) == 200
    assert len({i["uuid"] for i in instances}) == 200 and len({i["vid"] for i in instances}) == 200
    sample = instances[123]
    state = up.ok("GetRunClientByUuid", uuid=sample["uuid"])
    assert state["loginType"] == 2 and state["user_info"]["userid"] == sample["vid"]
    assert len(up.ok("GetRunClient")) == 200
    assert up.ok("init", vid=sample["vid"]) == {"uuid": sample["uuid"], "is_login": "true"}
    up.ok("SendTextMsg", uuid=sample["uuid"], send_userid=1, isRoom=False, content="bench")
    up.control("POST", "message", {"uuid": sample["uuid"], "content": "in"})
    assert receiver.wait_for(1)[0]["uuid"] == sample["uuid"]  # registered callback url is used
    assert up.control("POST", "bulk-login", {"count": 0}).status_code == 400


def test_control_errors_state_and_reset(up: Upstream) -> None:
    assert up.control("POST", "scan", {"uuid": "nope"}).json() == {
        "ok": False,
        "message": "unknown uuid: nope",
    }
    uuid = up.ok("init")["uuid"]
    no_qr = up.control("POST", "scan", {"uuid": uuid})
    assert no_qr.status_code == 400 and no_qr.json()["ok"] is False
    assert up.control("POST", "drop", {"uuid": uuid, "type": 123}).status_code == 400
    assert up.control("POST", "drop", {"uuid": uuid, "type": 100012}).status_code == 400  # not logged in
    up.ok("getQrCode", uuid=uuid)
    code = up.scan(uuid)["code"]
    inst = up.control("GET", "state").json()["instances"][0]
    assert inst["uuid"] == uuid and inst["pending_code"] == code and inst["loginType"] == 1
    assert set(inst) >= {"vid", "isLogin", "callback_url", "qr_key", "secondary_pending"}
    assert up.control("POST", "reset").json() == {"ok": True}
    state = up.control("GET", "state").json()
    assert state["instances"] == [] and state["accounts"] == [] and state["faults"] is None
    up.control("POST", "bulk-login", {"count": 5})
    limited = up.control("GET", "state?limit=2").json()
    assert len(limited["instances"]) == 2 and limited["instances_total"] == 5


def test_control_page_is_self_contained(up: Upstream) -> None:
    page = requests.get(f"{up.base}/_sim/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for label in ("扫码", "推送", "故障", "100012", "上游重启", "drop-after"):
        assert label in page.text
    events = up.control("GET", "state").json()["events"]
    assert {"100003", "100006", "102001", "102002", "102006", "116001", "115001", "115009", "ban", "duplicate"} <= set(
        events
    )
    for name in events:  # every event the control API sends has its button
        assert f'data-event="{name}"' in page.text
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", page.text)


# ----- faults -------------------------------------------------------------------------------------


def set_fault(up: Upstream, **spec: Any) -> None:
    response = up.control("POST", "faults", spec)
    assert response.status_code == 200, response.text


def test_fault_latency_then_normal(up: Upstream) -> None:
    set_fault(up, mode="latency", count=1, latency_ms=400)
    started = time.monotonic()
    assert up.call("GetRunClient")["errcode"] == 0
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    up.call("GetRunClient")
    assert time.monotonic() - started < 0.3
    assert up.control("GET", "faults").json()["fault"] is None


def test_fault_http500_count_decrements(up: Upstream) -> None:
    set_fault(up, mode="http500", count=2)
    assert up.control("GET", "state").status_code == 200  # control routes are never affected
    assert up.raw("GetRunClient").status_code == 500
    assert up.control("GET", "faults").json()["fault"]["count"] == 1
    assert up.raw("init").status_code == 500
    assert up.raw("GetRunClient").status_code == 200


def test_fault_hang_times_out_client_and_is_released(up: Upstream) -> None:
    set_fault(up, mode="hang", count=-1, hang_s=30)
    with pytest.raises(requests.ReadTimeout):
        up.raw("GetRunClient", timeout=1)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(up.raw, "GetRunClient", None, 10)
        time.sleep(0.3)
        assert not pending.done()
        started = time.monotonic()
        assert up.control("DELETE", "faults").status_code == 200
        response = pending.result(timeout=5)
    assert time.monotonic() - started < 2
    assert response.status_code == 200 and response.json()["errcode"] == 0


def test_fault_hang_short_answers_normally(up: Upstream) -> None:
    set_fault(up, mode="hang", count=1, hang_s=0.3)
    started = time.monotonic()
    assert up.call("GetRunClient")["errcode"] == 0
    assert time.monotonic() - started >= 0.3


def test_fault_nonjson(up: Upstream) -> None:
    set_fault(up, mode="nonjson", count=1)
    response = up.raw("GetRunClient")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()
    assert up.raw("GetRunClient").json()["errcode"] == 0


def test_fault_refuse_is_a_connection_error(up: Upstream) -> None:
    set_fault(up, mode="refuse", count=2)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            up.raw("init", {"vid": ""})
    assert up.raw("init", {"vid": ""}).status_code == 200
    assert up.control("GET", "calls").json()["by_action"]["init"] == 3


def test_fault_restricted_to_actions_until_cleared(up: Upstream) -> None:
    set_fault(up, mode="http500", count=-1, actions=["GetRunClientByUuid"])
    uuid = up.ok("init")["uuid"]
    for _ in range(3):
        assert up.raw("GetRunClientByUuid", {"uuid": uuid}).status_code == 500
    assert up.raw("GetRunClient").status_code == 200
    assert up.control("GET", "faults").json()["fault"]["count"] == -1
    up.control("DELETE", "faults")
    assert up.raw("GetRunClientByUuid", {"uuid": uuid}).status_code == 200


def test_fault_spec_is_validated(up: Upstream) -> None:
    assert up.control("POST", "faults", {"mode": "explode"}).status_code == 400
    assert up.control("POST", "faults", {"mode": "latency", "count": 0}).status_code == 400
    assert up.control("POST", "faults", {"mode": "latency", "actions": "init"}).status_code == 400


def test_many_concurrent_connections(up: Upstream) -> None:
    # Every call waits 300 ms; 150 of them only finish quickly if they are served in parallel.
    set_fault(up, mode="latency", count=-1, latency_ms=300)
    started = time.monotonic()
    with ThreadPoolExecutor(150) as pool:
        statuses = list(pool.map(lambda _: up.raw("GetRunClient", timeout=10).status_code, range(150)))
    assert statuses == [200] * 150
    assert time.monotonic() - started < 5


# ----- app factory and command line ---------------------------------------------------------------


def test_body_without_json_content_type_is_accepted(up: Upstream) -> None:
    response = requests.post(f"{up.base}/wxwork/init", data=b'{"vid": ""}', timeout=5)
    assert response.json()["data"]["is_login"] == "false"


def test_server_cannot_be_restarted() -> None:
    with SimulatorServer() as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    with pytest.raises(RuntimeError):
        server.start()


def test_create_simulator_app_with_flask_test_client() -> None:
    app = create_simulator_app({"seed": 7, "public_url": "http://sim.example:9952/"})
    try:
        client = app.test_client()
        uuid = client.post("/wxwork/init", json={"vid": ""}).get_json()["data"]["uuid"]
        qr = client.post("/wxwork/getQrCode", json={"uuid": uuid}).get_json()["data"]
        name = qr["qrcode"].rsplit("/", 1)[1]
        assert qr["qrcode"] == f"http://sim.example:9952/{name}" and qr["Key"] not in name
        assert client.get(f"/{name}").data.startswith(JPEG_MAGIC)
    finally:
        app.extensions["wxwork_simulator"].shutdown()
    with pytest.raises(ValueError, match="unknown simulator settings"):
        create_simulator_app({"qr_tll": 5})


def test_command_line_runs_and_prints_control_url() -> None:
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "wxwork_demo.simulator", "--host", "127.0.0.1", "--port", "0"]
    command += ["--set", "init_uuid_is_vid=false", "--set", "qr_image_format=png"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, cwd=root, stdout=pipe, stderr=pipe, text=True) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline(), process.stdout.readline()]
            match = re.search(r"(http://127\.0\.0\.1:\d+)/_sim/", lines[1])
            assert match, lines
            assert requests.post(f"{match.group(1)}/wxwork/init", json={}, timeout=5).json()["errcode"] == 0
            settings = requests.get(f"{match.group(1)}/_sim/state", timeout=5).json()["settings"]
            assert settings["init_uuid_is_vid"] is False and settings["qr_image_format"] == "png"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                _, stderr = process.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                _, stderr = process.communicate()
    assert process.returncode == 0, stderr


# ----- fidelity to the docs, and the opt-in generous variants ---------------------------------------


def test_generous_variants_are_opt_in(make_sim: Callable[..., Any], receiver: CallbackReceiver) -> None:
    _, up = make_sim(qr_image_format="png", qr_file_name_is_key=True, login_callback_fills_ids=True)
    uuid = up.ok("init", vid="")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url=receiver.url)
    qr = up.ok("getQrCode", uuid=uuid)
    assert qr["qrcode"].endswith(f"/{qr['Key']}.png")
    assert base64.b64decode(qr["qrcode_data"]).startswith(PNG_MAGIC)
    scanned = up.scan(uuid)
    up.ok("CheckCode", uuid=uuid, qrcodeKey=qr["Key"], code=scanned["code"])
    profile = json.loads(receiver.wait_for(4)[-1]["json"])
    assert profile["Vid"] == DEMO_USER_ID and profile["Corpid"] == profile["corp_id"] and profile["Corp_name"]

    _, random_uuids = make_sim(init_uuid_is_vid=False)
    assert random_uuids.ok("init", vid=DEMO_USER_ID)["uuid"] != str(DEMO_USER_ID)


def test_init_with_an_id_twice_replaces_the_idle_instance(up: Upstream) -> None:
    uuid, user_id = first_login(up)
    up.ok("LoginOut", uuid=uuid)
    first = up.ok("init", vid=user_id)["uuid"]
    up.ok("automaticLogin", uuid=first)
    up.control("POST", "drop", {"uuid": first, "type": 100007})
    again = up.ok("init", vid=user_id)
    assert again == {"uuid": str(user_id), "is_login": "false"} and login_type(up, first) == 1
    up.ok("automaticLogin", uuid=first)
    assert login_type(up, first) == 2


def test_callbacks_are_not_retried_by_default(up: Upstream, make_receiver: Callable[..., CallbackReceiver]) -> None:
    receiver = make_receiver(fail_first=1)
    uuid = up.ok("init")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url=receiver.url)
    up.ok("getQrCode", uuid=uuid)
    up.scan(uuid)
    assert [e["type"] for e in receiver.wait_for(1)] == [100004]  # 100001 was refused once: lost
    # The simulator records an attempt once the receiver's answer is back, a moment after the receiver has it.
    deadline = time.monotonic() + 5
    while True:
        attempts = up.control("GET", f"callbacks?uuid={uuid}").json()["attempts"]
        if len(attempts) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(a["type"], a["attempt"], a["ok"]) for a in attempts] == [(100001, 1, False), (100004, 1, True)]


def test_room_message_has_a_numeric_room_id_and_no_receiver(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    up.control("POST", "message", {"uuid": uuid, "content": "群里好", "is_room": True})
    payload = json.loads(receiver.wait_for(5)[-1]["json"])
    assert payload["is_room"] == 1 and payload["receiver"] == 0
    assert isinstance(payload["room_conversation_id"], str) and payload["room_conversation_id"].isdigit()
    assert int(payload["room_conversation_id"]) > 2**53


def test_invented_errors_are_labelled_and_configurable(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim(
        errors={"unknown_instance": [404, "no such instance"], "wrong_code": {"errcode": 7, "errmsg": "x"}}
    )
    assert up.call("GetRunClientByUuid", uuid="nope") == {"data": None, "errcode": 404, "errmsg": "no such instance"}
    table = up.control("GET", "state").json()["errors"]
    assert table["unknown_instance"]["errcode"] == 404 and table["secondary_verification"]["errcode"] == -11025
    assert table["wrong_code"]["source"] == "invented" and table["not_logged_in"]["source"].startswith("observed")
    with pytest.raises(ValueError, match="unknown error name"):
        create_simulator_app({"errors": {"no_such_error": [1, "x"]}})


# ----- the events beyond login --------------------------------------------------------------------


def event(up: Upstream, uuid: str, type_: Any, **options: Any) -> dict[str, Any]:
    response = up.control("POST", "event", {"uuid": uuid, "type": type_, **options})
    assert response.status_code == 200, response.text
    return response.json()


def test_scan_cancelled_on_the_phone(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid = up.ok("init")["uuid"]
    up.ok("SetCallbackUrl", uuid=uuid, url=receiver.url)
    key = up.ok("getQrCode", uuid=uuid)["Key"]
    assert event(up, uuid, 100003)["type"] == 100003
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == [100001, 100003]
    assert json.loads(events[1]["json"])["Qrcode_key"] == key
    assert up.scan(uuid)["needCode"] is True  # the QR code can still be scanned


def test_corp_switch_moves_the_account_to_its_new_id(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, user_id = first_login(up, receiver)
    switched = event(up, uuid, "100006", corp_name="星河贸易")["payload"]
    assert switched["this_vid"] == user_id and switched["vid"] != user_id and switched["corp_name"] == "星河贸易"
    assert json.loads(receiver.wait_for(5)[-1]["json"]) == switched
    assert up.ok("GetRunClientByUuid", uuid=uuid)["user_info"]["userid"] == switched["vid"]
    up.control("POST", "drop", {"uuid": uuid, "type": 100007})
    again = up.ok("init", vid=switched["vid"])["uuid"]
    up.ok("automaticLogin", uuid=again)  # the device knows the new id
    assert login_type(up, again) == 2


@pytest.mark.parametrize(
    ("type_", "code", "msgtype"),
    [("102001", 102001, 1011), ("102002", 102002, 1011), ("102006", 102006, 2001), ("ban", 102000, 1011)],
)
def test_contact_and_system_notices(up: Upstream, receiver: CallbackReceiver, type_: str, code: int, msgtype: int):
    uuid, user_id = first_login(up, receiver)
    sent = event(up, uuid, type_, contact=7881302555913738)
    delivered = receiver.wait_for(5)[-1]
    assert delivered["type"] == code == sent["type"]
    payload = json.loads(delivered["json"])
    assert payload == sent["payload"] and payload["msgtype"] == msgtype and payload["referid"] == 0
    if type_ == "ban":
        url = payload["extraContent"]["extraMessageLink"]["jumpUrl"]
        assert url.startswith("https://work.weixin.qq.com/webapp/spam/info?key=") and payload["msg"]
        detail = up.ok("getBanDetile", uuid=uuid, url=url)
        main = detail["mainData"]
        assert detail["vid"] == str(user_id) and main["ban_title"] and main["ban_reason"] and main["ban_func"]
        assert int(main["ban_finish_time"]) > int(main["ban_start_time"])
        assert up.call("getBanDetile", uuid=uuid, url="https://example.test/?key=x")["errcode"] != 0
    else:
        assert payload["sender"] == user_id and payload["receiver"] == 7881302555913738


def test_friend_request_and_room_events(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    request = event(up, uuid, 116001)["payload"]
    assert request["list"][0]["user_id"] and request["seq"] == request["list"][0]["seq"]
    for code in range(115001, 115010):
        payload = event(up, uuid, code, room_id="10927640775842980")["payload"]
        room = payload.get("room_conversation_id") or payload.get("room_id")
        assert room == "10927640775842980", (code, payload)
    assert [e["type"] for e in receiver.wait_for(14)[-10:]] == [116001, *range(115001, 115010)]
    assert up.control("POST", "event", {"uuid": uuid, "type": "115010"}).status_code == 400


def test_duplicate_delivery_has_a_referid(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    assert up.control("POST", "event", {"uuid": uuid, "type": "duplicate"}).status_code == 400  # nothing yet
    original = up.control("POST", "message", {"uuid": uuid, "content": "你好"}).json()["payload"]
    again = event(up, uuid, "duplicate")["payload"]
    assert again["msg_id"] == original["msg_id"] and again["referid"] != 0 and original["referid"] == 0
    assert [json.loads(e["json"])["referid"] != 0 for e in receiver.wait_for(6)[-2:]] == [False, True]


# ----- the upstream restarts ----------------------------------------------------------------------


def test_upstream_restart_keeps_device_knowledge(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, user_id = first_login(up, receiver)
    restarted = up.control("POST", "restart", {"down_s": 0.5}).json()
    assert restarted == {"ok": True, "dropped": 1}
    with pytest.raises(requests.ConnectionError):
        up.raw("GetRunClientByUuid", {"uuid": uuid})
    time.sleep(0.8)
    assert up.call("GetRunClientByUuid", uuid=uuid)["errmsg"] == "实例不存在"
    again = up.ok("init", vid=user_id)["uuid"]
    up.ok("SetCallbackUrl", uuid=again, url=receiver.url)
    up.ok("automaticLogin", uuid=again)  # 自动登录重连流程: the device is known, no scan
    assert login_type(up, again) == 2


def test_device_store_survives_a_new_process(tmp_path: Path, make_sim: Callable[..., Any]) -> None:
    store = str(tmp_path / "devices.json")
    _, up = make_sim(device_store=store)
    _, user_id = first_login(up)
    _, fresh = make_sim(device_store=store)  # the simulator process started again
    uuid = fresh.ok("init", vid=user_id)["uuid"]
    fresh.ok("automaticLogin", uuid=uuid)
    assert login_type(fresh, uuid) == 2
