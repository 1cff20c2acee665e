"""The instance store and login state machine of upstream-api.md §3, kept in memory behind one lock.

Upstream calls raise `UpstreamError` for business errors (the API layer turns it into an errcode
envelope with HTTP 200); control calls raise `ControlError` (turned into `{"ok": false}` with 400/404).
Every state change that upstream would announce enqueues a callback; delivery happens elsewhere.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid as uuid_module
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .accounts import (
    DEFAULT_CORP_ID,
    DEFAULT_CORP_NAME,
    DEMO_USER_ID,
    Account,
    account_from_person,
    demo_account,
    generated_account,
)
from .callbacks import CallbackDispatcher
from .directory import Directory
from .messages import MessageFactory, SentStore
from .qr import login_qr_text, new_qrcode_key, qr_png
from .settings import SimulatorSettings

# Callback type codes (§4.1).
CB_SCANNED = 100001
CB_CONFIRMED = 100002
CB_NEED_CODE = 100004
CB_PHONE_LOGOUT = 100005
CB_CACHE_INVALID = 100007
CB_OTHER_DEVICE = 100008
CB_QR_TIMEOUT = 100009
CB_SECONDARY = 100012
CB_MESSAGE = 102000
CB_LOGIN_OK = 104001

DISCONNECT_MESSAGES: dict[int, str] = {
    CB_PHONE_LOGOUT: "手机端结束登录",
    CB_CACHE_INVALID: "登陆缓存失效，请重新登录。",
    CB_OTHER_DEVICE: "当前账号在其他设备登录，请重新扫码登录",
    CB_QR_TIMEOUT: "初始化接口二维码扫码超时断开",
    CB_SECONDARY: "出现二次验证，请重新获取二维码扫码验证登录",
}

SECONDARY_ERRCODE = -11025
SECONDARY_ERRMSG = "出现二次验证，请重新获取二维码登录"
# Bulk-created accounts live above the range the generated directory uses, so ids never collide.
_BULK_USER_ID_BASE = 1688860000000000


# A JSON object as sent on the wire.
Payload = dict[str, Any]


class LoginType(IntEnum):
    """`loginType` of GetRunClientByUuid."""

    NOT_INITIALISED = 0
    INITIALISED = 1
    LOGGED_IN = 2


class UpstreamError(Exception):
    """A business error of an upstream call: HTTP 200 with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, data: Any = None) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.data = data


class ControlError(Exception):
    """A refused control request (`/_sim/*`), answered with `status` and `{"ok": false, "message"}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Proxy:
    """Proxy settings from init/setProxy. The password is kept but never shown anywhere."""

    ip: str = ""
    port: str = ""
    proxy_type: str = ""
    user_name: str = ""
    password: str = field(default="", repr=False)
    situation: int = 0

    def public(self) -> dict[str, Any]:
        """View without the password, for the control surface."""
        return {
            "ip": self.ip,
            "port": self.port,
            "proxyType": self.proxy_type,
            "userName": self.user_name,
            "proxySituation": self.situation,
            "has_password": bool(self.password),
        }


@dataclass
class Instance:
    """One upstream client instance (one uuid)."""

    uuid: str
    init_vid: int | None
    proxy: Proxy
    created_at: float
    # Account whose device identity this instance carries: scanning with it needs no code.
    device_user_id: int | None = None
    callback_url: str | None = None
    callback_type: str = "HTTP"
    login_type: LoginType = LoginType.INITIALISED
    # Account bound by the latest login; kept after a logout/drop so GetRunClient still lists it.
    account_id: int | None = None
    logintime: int = 0
    update_time: int = 0
    # Unscanned login QR: key and monotonic deadline.
    qr_key: str | None = None
    qr_deadline: float | None = None
    # Key of the scanned QR while the phone shows a verification code.
    code_qr_key: str | None = None
    pending_code: str | None = None
    code_account_id: int | None = None
    secondary_pending: bool = False
    secondary_qr_key: str | None = None
    qr_image_keys: list[str] = field(default_factory=list)

    @property
    def is_login(self) -> bool:
        """Logged in, as GetRunClient(ByUuid) reports it."""
        return self.login_type == LoginType.LOGGED_IN


class SimulatorState:
    """All instances and accounts, and every transition between their states."""

    def __init__(
        self,
        settings: SimulatorSettings,
        dispatcher: CallbackDispatcher,
        directory: Directory,
        messages: MessageFactory,
        sent: SentStore,
    ) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.directory = directory
        self.messages = messages
        self.sent = sent
        self._lock = threading.RLock()
        self._instances: dict[str, Instance] = {}
        self._accounts: dict[int, Account] = {}
        self._qr_images: dict[str, bytes] = {}
        # uuid -> deadline of its unscanned QR; the sweeper only looks at these.
        self._qr_deadlines: dict[str, float] = {}
        self._bulk_counter = 0
        # Verification codes are what a test reads back from /_sim/scan, so they need no seed.
        self._code_rng = random.Random()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    # ----- lifecycle ------------------------------------------------------------------------------

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the QR expiry sweeper."""
        self._stop.set()
        sweeper = self._sweeper
        if sweeper is not None:
            sweeper.join(timeout)
        self._sweeper = None

    def reset(self) -> None:
        """Forget every instance and account."""
        with self._lock:
            self._instances.clear()
            self._accounts.clear()
            self._qr_images.clear()
            self._qr_deadlines.clear()
            self._bulk_counter = 0

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None and not self._stop.is_set():
            self._sweeper = threading.Thread(target=self._sweep_loop, name="sim-qr-expiry", daemon=True)
            self._sweeper.start()

    def _sweep_loop(self) -> None:
        # Fine enough for a 1-2 s ttl in tests, coarse enough to cost nothing with the default 600 s.
        interval = min(0.5, max(0.05, self.settings.qr_ttl / 10))
        while not self._stop.wait(interval):
            now = time.monotonic()
            with self._lock:
                due = [u for u, deadline in self._qr_deadlines.items() if deadline <= now]
                for uuid in due:
                    inst = self._instances.get(uuid)
                    if inst is not None:
                        self._expire_qr(inst)
                    else:
                        self._qr_deadlines.pop(uuid, None)

    # ----- helpers --------------------------------------------------------------------------------

    def _emit(self, inst: Instance, type_: int, payload: dict[str, Any]) -> None:
        self.dispatcher.enqueue(inst.uuid, inst.callback_url, type_, payload)

    def _touch(self, inst: Instance) -> None:
        inst.update_time = int(time.time())

    def _account(self, user_id: int) -> Account:
        """The account with this id, created on first sight (directory person or generated profile)."""
        account = self._accounts.get(user_id)
        if account is None:
            if user_id == DEMO_USER_ID:
                account = demo_account()
            else:
                person = self.directory.inner_person(DEFAULT_CORP_ID, DEFAULT_CORP_NAME, user_id)
                account = (
                    account_from_person(person)
                    if person is not None
                    else generated_account(user_id, self.settings.seed)
                )
            self._accounts[user_id] = account
        return account

    def _lookup(self, uuid: Any) -> Instance:
        inst = self._instances.get(uuid) if isinstance(uuid, str) else None
        if inst is not None and inst.qr_deadline is not None and inst.qr_deadline <= time.monotonic():
            # The sweeper may lag a little; a call must never see an instance that already timed out.
            self._expire_qr(inst)
            inst = None
        if inst is None:
            raise UpstreamError(500, self.settings.errmsg_unknown_instance)
        return inst

    def _usable(self, uuid: Any, *, need_login: bool, secondary_exempt: bool = False) -> Instance:
        """Instance for an upstream call, after the existence, -11025 and login checks (in that order)."""
        inst = self._lookup(uuid)
        if inst.secondary_pending and not secondary_exempt:
            raise UpstreamError(SECONDARY_ERRCODE, SECONDARY_ERRMSG)
        if need_login and not inst.is_login:
            raise UpstreamError(500, self.settings.errmsg_not_logged_in)
        return inst

    def _remove(self, inst: Instance) -> None:
        self._instances.pop(inst.uuid, None)
        self._qr_deadlines.pop(inst.uuid, None)
        for key in inst.qr_image_keys:
            self._qr_images.pop(key, None)

    def _expire_qr(self, inst: Instance) -> None:
        payload = {"vid": inst.init_vid or 0, "msg": DISCONNECT_MESSAGES[CB_QR_TIMEOUT]}
        self._emit(inst, CB_QR_TIMEOUT, payload)
        self._remove(inst)

    def _new_qr(self, inst: Instance, key: str, png: bytes) -> None:
        self._qr_images[key] = png
        inst.qr_image_keys.append(key)

    def _complete_login(self, inst: Instance, account: Account, *, scanned_key: str | None) -> None:
        account.has_logged_in = True
        account.needs_scan = False
        inst.account_id = account.user_id
        inst.device_user_id = account.user_id
        inst.login_type = LoginType.LOGGED_IN
        inst.logintime = int(time.time())
        inst.qr_key = inst.qr_deadline = None
        inst.code_qr_key = inst.pending_code = inst.code_account_id = None
        inst.secondary_pending = False
        inst.secondary_qr_key = None
        self._qr_deadlines.pop(inst.uuid, None)
        self._touch(inst)
        if scanned_key is not None:
            self._emit(inst, CB_CONFIRMED, account.scan_payload(scanned_key))
        self._emit(inst, CB_LOGIN_OK, account.login_payload())

    def qr_image(self, key: str) -> bytes | None:
        """PNG of a QR code this simulator issued, while its instance exists."""
        with self._lock:
            return self._qr_images.get(key)

    # ----- upstream calls -------------------------------------------------------------------------

    def init(self, vid: int | None, proxy: Proxy) -> tuple[str, bool]:
        """Create an instance; returns (uuid, is_login).

        init with the vid of an account that is logged in right now returns that running instance
        (is_login true) instead of a second one.
        """
        with self._lock:
            reused = False
            if vid is not None:
                for inst in self._instances.values():
                    if inst.account_id == vid and inst.is_login:
                        return inst.uuid, True
                account = self._accounts.get(vid)
                reused = account is not None and account.has_logged_in
            inst = Instance(
                uuid=str(uuid_module.uuid4()),
                init_vid=vid,
                proxy=proxy,
                created_at=time.time(),
                device_user_id=vid if reused else None,
            )
            self._touch(inst)
            self._instances[inst.uuid] = inst
            return inst.uuid, False

    def set_callback(self, uuid: Any, url: str | None, callback_type: str) -> None:
        """Register (per uuid) where callbacks go."""
        with self._lock:
            inst = self._usable(uuid, need_login=False)
            inst.callback_url = url
            inst.callback_type = callback_type

    def get_qrcode(self, uuid: Any, public_url: str) -> dict[str, Any]:
        """Issue a login QR code; it destroys the instance if nobody scans it within qr_ttl."""
        key = new_qrcode_key()
        png = qr_png(login_qr_text(key))  # outside the lock: encoding takes a few milliseconds
        with self._lock:
            inst = self._usable(uuid, need_login=False)
            if inst.is_login:
                raise UpstreamError(-1, "实例已登录")
            inst.qr_key = key
            inst.qr_deadline = time.monotonic() + self.settings.qr_ttl
            inst.code_qr_key = inst.pending_code = inst.code_account_id = None
            self._qr_deadlines[inst.uuid] = inst.qr_deadline
            self._new_qr(inst, key, png)
            self._touch(inst)
            self._ensure_sweeper()
        return {
            "qrcode": f"{public_url}/qrcode/{key}.png",
            "qrcode_data": base64.b64encode(png).decode("ascii"),
            "Ttl": max(1, round(self.settings.qr_ttl)),
            "Key": key,
        }

    def check_code(self, uuid: Any, qrcode_key: Any, code: Any) -> None:
        """Submit the code the phone shows; success completes the login."""
        with self._lock:
            inst = self._usable(uuid, need_login=False)
            if inst.pending_code is None or inst.code_qr_key is None:
                raise UpstreamError(-1, "qrcode_not need verify")
            if str(qrcode_key or "").upper() != inst.code_qr_key:
                raise UpstreamError(-1, "qrcodeKey 不匹配")
            if str(code or "").strip() != inst.pending_code:
                raise UpstreamError(-1, "验证码错误")
            account = self._account(inst.code_account_id or DEMO_USER_ID)
            self._complete_login(inst, account, scanned_key=inst.code_qr_key)

    def automatic_login(self, uuid: Any) -> None:
        """Log in again without a scan; only for init(vid) of an account that logged in before."""
        with self._lock:
            inst = self._usable(uuid, need_login=False)
            if inst.is_login:
                return
            account = self._accounts.get(inst.init_vid) if inst.init_vid is not None else None
            if account is None or not account.has_logged_in or account.needs_scan:
                raise UpstreamError(500, "自动登录失败，请扫码登录")
            self._complete_login(inst, account, scanned_key=None)

    def login_out(self, uuid: Any) -> None:
        """Log the instance out; it stays, and init(vid) + automaticLogin can come back later."""
        with self._lock:
            inst = self._usable(uuid, need_login=True)
            inst.login_type = LoginType.INITIALISED
            self._touch(inst)

    def secondary_validation(self, uuid: Any, public_url: str) -> dict[str, Any]:
        """QR code answering a secondary-verification challenge (no qrcode_data, per §2.7)."""
        key = new_qrcode_key()
        png = qr_png(login_qr_text(key))
        with self._lock:
            inst = self._usable(uuid, need_login=True, secondary_exempt=True)
            inst.secondary_qr_key = key
            self._new_qr(inst, key, png)
            self._touch(inst)
        return {
            "qrcode": f"{public_url}/qrcode/{key}.png",
            "Ttl": max(1, round(self.settings.qr_ttl)),
            "Key": key,
        }

    def _user_info(self, inst: Instance, requrl: str) -> dict[str, Any] | None:
        if inst.account_id is None:
            return None
        return {
            "object": self._accounts[inst.account_id].run_client_by_uuid_object(),
            "userid": inst.account_id,
            "clientId": inst.uuid,
            "updateTime": inst.update_time,
            "uuid": inst.uuid,
            "requrl": requrl,
            "isLogin": inst.is_login,
        }

    def run_clients(self, requrl: str) -> list[dict[str, Any]]:
        """GetRunClient: one single-key object per instance that has an account bound."""
        with self._lock:
            result = []
            for inst in self._instances.values():
                if inst.account_id is None:
                    continue
                entry = {
                    "isLogin": inst.is_login,
                    "clientId": inst.uuid,
                    "updateTime": inst.update_time,
                    "userid": inst.account_id,
                    "uuid": inst.uuid,
                    "requrl": requrl,
                    "object": self._accounts[inst.account_id].run_client_object(),
                }
                result.append({str(inst.account_id): entry})
            return result

    def run_client_by_uuid(self, uuid: Any, requrl: str) -> dict[str, Any]:
        """GetRunClientByUuid: loginType and, once an account is bound, user_info."""
        with self._lock:
            inst = self._usable(uuid, need_login=False, secondary_exempt=True)
            return {
                "logintime": inst.logintime,
                "loginType": int(inst.login_type),
                "user_info": self._user_info(inst, requrl),
                "uuid": inst.uuid,
            }

    def close(self, uuid: Any) -> None:
        """CloseConnent: the instance is gone; a new init is needed."""
        with self._lock:
            self._remove(self._usable(uuid, need_login=False))

    def set_proxy(self, uuid: Any, proxy: Proxy) -> None:
        """Change the proxy; a global one (proxySituation 1 at init) cannot be removed."""
        with self._lock:
            inst = self._usable(uuid, need_login=False)
            removing = proxy.ip in ("", "127.0.0.1")
            if inst.proxy.situation == 1 and inst.proxy.ip and removing:
                raise UpstreamError(-1, "全局代理不可取消")
            proxy.situation = inst.proxy.situation
            inst.proxy = proxy

    def send_text(self, uuid: Any, send_userid: int, is_room: bool, content: str, kf_id: int) -> Payload:
        """Store the message and return the echo of §2.12."""
        with self._lock:
            inst = self._usable(uuid, need_login=True)
            sender = inst.account_id
        assert sender is not None
        echo = self.messages.sent_echo(sender, send_userid, is_room, content)
        self.sent.add(
            {
                "uuid": inst.uuid,
                "send_userid": send_userid,
                "isRoom": is_room,
                "content": content,
                "kf_id": kf_id,
                "time": time.time(),
                "sender": sender,
                "msg_id": echo["msg_id"],
                "server_id": echo["server_id"],
            }
        )
        return echo

    def logged_in_account(self, uuid: Any) -> Account:
        """Account of a logged-in instance (used by the contact calls)."""
        with self._lock:
            inst = self._usable(uuid, need_login=True)
            assert inst.account_id is not None
            return self._accounts[inst.account_id]

    # ----- control surface ------------------------------------------------------------------------

    def _control_lookup(self, uuid: Any) -> Instance:
        try:
            return self._lookup(uuid)
        except UpstreamError:
            raise ControlError(404, f"unknown uuid: {uuid}") from None

    def scan(self, uuid: Any, user_id: int | None = None) -> dict[str, Any]:
        """The phone scans the pending QR (login or secondary verification).

        A device the account already used logs straight in (100001, 100002, 104001); a new device
        gets 100001, 100004 and a 6-digit code that CheckCode must receive.
        """
        with self._lock:
            inst = self._control_lookup(uuid)
            if inst.secondary_pending:
                if inst.secondary_qr_key is None:
                    raise ControlError(400, "二次验证二维码尚未获取，请先调用 SecondaryValidation")
                account = self._accounts[inst.account_id or DEMO_USER_ID]
                self._emit(inst, CB_SCANNED, account.scan_payload(inst.secondary_qr_key))
                self._complete_login(inst, account, scanned_key=inst.secondary_qr_key)
                return {"needCode": False, "code": None, "user_id": account.user_id}
            if inst.is_login:
                raise ControlError(400, "实例已登录")
            if inst.qr_key is None:
                if inst.pending_code is not None:
                    raise ControlError(400, "已扫码，等待 CheckCode 提交验证码")
                raise ControlError(400, "没有待扫描的二维码，请先调用 getQrCode")
            account_id = user_id or inst.device_user_id or inst.init_vid or DEMO_USER_ID
            account = self._account(account_id)
            key = inst.qr_key
            inst.qr_key = inst.qr_deadline = None
            self._qr_deadlines.pop(inst.uuid, None)
            self._emit(inst, CB_SCANNED, account.scan_payload(key))
            if account_id == inst.device_user_id:
                self._complete_login(inst, account, scanned_key=key)
                return {"needCode": False, "code": None, "user_id": account_id}
            code = f"{self._code_rng.randrange(10**6):06d}"
            inst.code_qr_key = key
            inst.pending_code = code
            inst.code_account_id = account_id
            self._touch(inst)
            self._emit(inst, CB_NEED_CODE, account.scan_payload(key))
            return {"needCode": True, "code": code, "user_id": account_id}

    def drop(self, uuid: Any, type_: int, require_scan: bool = False) -> dict[str, Any]:
        """Inject a disconnect callback and its effect; returns the callback payload."""
        if type_ not in DISCONNECT_MESSAGES:
            raise ControlError(400, f"type must be one of {sorted(DISCONNECT_MESSAGES)}")
        with self._lock:
            inst = self._control_lookup(uuid)
            vid = inst.account_id or inst.init_vid or 0
            payload: dict[str, Any] = {"vid": vid, "msg": DISCONNECT_MESSAGES[type_]}
            if type_ == CB_SECONDARY:
                if not inst.is_login:
                    raise ControlError(400, "二次验证只会发生在已登录的实例上")
                payload["uuid"] = inst.uuid
                inst.secondary_pending = True
                inst.secondary_qr_key = None
            elif type_ == CB_QR_TIMEOUT:
                self._emit(inst, type_, payload)
                self._remove(inst)
                return payload
            else:
                inst.login_type = LoginType.INITIALISED
                inst.secondary_pending = False
                inst.secondary_qr_key = None
            if require_scan and inst.account_id is not None:
                self._accounts[inst.account_id].needs_scan = True
            self._touch(inst)
            self._emit(inst, type_, payload)
            return payload

    def push_message(
        self,
        uuid: Any,
        content: str,
        sender: int | None,
        is_room: bool,
        room_conversation_id: str | None,
        msgtype: int,
        sender_name: str,
    ) -> dict[str, Any]:
        """Deliver an incoming message to a logged-in account as callback 102000."""
        with self._lock:
            inst = self._control_lookup(uuid)
            if not inst.is_login or inst.account_id is None:
                raise ControlError(400, "实例未登录")
            receiver = inst.account_id
        if sender is None:
            # Default sender: the account's first external contact that is still a friend.
            friends = [c for c in self.directory.external(receiver) if c["status"] not in (0, 8, 2049)]
            sender = friends[0]["user_id"] if friends else 7881302555913738
        payload = self.messages.incoming(
            receiver=receiver,
            sender=sender,
            content=content,
            is_room=is_room,
            room_conversation_id=room_conversation_id,
            msgtype=msgtype,
            sender_name=sender_name,
        )
        with self._lock:
            inst = self._control_lookup(uuid)
            self._emit(inst, CB_MESSAGE, payload)
        return payload

    def bulk_login(self, count: int, callback_url: str | None) -> list[dict[str, Any]]:
        """Create `count` instances already logged in with distinct accounts (no callbacks sent)."""
        created = []
        with self._lock:
            for _ in range(count):
                self._bulk_counter += 1
                account = self._account(_BULK_USER_ID_BASE + self._bulk_counter)
                account.has_logged_in = True
                inst = Instance(
                    uuid=str(uuid_module.uuid4()),
                    init_vid=account.user_id,
                    proxy=Proxy(),
                    created_at=time.time(),
                    device_user_id=account.user_id,
                    callback_url=callback_url,
                    login_type=LoginType.LOGGED_IN,
                    account_id=account.user_id,
                    logintime=int(time.time()),
                )
                self._touch(inst)
                self._instances[inst.uuid] = inst
                created.append({"uuid": inst.uuid, "vid": account.user_id})
        return created

    def set_account_flags(self, user_id: int, needs_scan: bool) -> dict[str, Any]:
        """Mark an account as needing a person to scan (automaticLogin then fails) or clear that."""
        with self._lock:
            account = self._account(user_id)
            account.needs_scan = needs_scan
            return account.summary()

    def snapshot(self, limit: int | None = None) -> dict[str, Any]:
        """Everything the control page shows (never the proxy password); at most `limit` instances."""
        with self._lock:
            now = time.monotonic()
            shown = list(self._instances.values())
            total = len(shown)
            if limit is not None:
                shown = shown[:limit]
            instances = [
                {
                    "uuid": inst.uuid,
                    "vid": inst.init_vid,
                    "user_id": inst.account_id,
                    "loginType": int(inst.login_type),
                    "isLogin": inst.is_login,
                    "callback_url": inst.callback_url,
                    "callback_type": inst.callback_type,
                    "qr_key": inst.qr_key,
                    "qr_expires_in": round(inst.qr_deadline - now, 1) if inst.qr_deadline else None,
                    "pending_code": inst.pending_code,
                    "code_qr_key": inst.code_qr_key,
                    "secondary_pending": inst.secondary_pending,
                    "secondary_qr_key": inst.secondary_qr_key,
                    "reused_device": inst.device_user_id is not None,
                    "proxy": inst.proxy.public(),
                    "logintime": inst.logintime,
                    "created_at": inst.created_at,
                }
                for inst in shown
            ]
            accounts = [a.summary() for a in self._accounts.values()]
            if limit is not None:
                accounts = accounts[:limit]
        return {"instances": instances, "instances_total": total, "accounts": accounts}
