"""What a test or a demo user does on the phone and to the upstream (`/_sim/*`), on the simulator's state.

Each raises `ControlError` for a request that cannot be carried out (answered `{"ok": false}` with 400/404).
The events offered are those of upstream-api.md §4.1 and upstream-api-more.md §6, shaped by notices.py.
"""

from __future__ import annotations

import random
import time
import uuid as uuid_module
from typing import Any

from . import notices, received_media
from .accounts import DEMO_USER_ID
from .errors import ControlError, UpstreamError
from .model import (
    CB_CONTACT_CHANGED,
    CB_CORP_SWITCH,
    CB_FRIEND_REQUEST,
    CB_MESSAGE,
    CB_NEED_CODE,
    CB_QR_TIMEOUT,
    CB_READ_ON_PHONE,
    CB_ROOM_EVENTS,
    CB_SCAN_CANCELLED,
    CB_SCANNED,
    CB_SECONDARY,
    DISCONNECT_MESSAGES,
    Instance,
    LoginType,
    Payload,
    Proxy,
)
from .state import SimulatorState

# Bulk-created accounts live above the range the generated directory uses, so ids never collide.
_BULK_USER_ID_BASE = 1688860000000000
# Accounts a corp switch moves to: ids of their own, in a corp of their own.
_SWITCHED_USER_ID_BASE = 1688870000000000
SWITCH_CORP_ID = 1970326674001513
SWITCH_CORP_NAME = "哼哈二将"
FALLBACK_CONTACT = 7881302555913738
# Events `event()` can send, by the name the control API and page use.
EVENT_TYPES: dict[str, str] = {
    "100003": "scan cancelled on the phone",
    "100006": "the account switched corp (this_vid -> vid)",
    "102001": "you were deleted by a contact (msgtype 1011)",
    "102002": "you were blocked by a contact (msgtype 1011)",
    "102006": "read on the phone (msgtype 2001)",
    "116001": "friend request",
    **{str(code): f"room event {code}" for code in CB_ROOM_EVENTS},
    "ban": "102000 msgtype 1011 notice: features restricted (getBanDetile explains it)",
    "duplicate": "102000 again with referid != 0 (a duplicate delivery of the latest message)",
}


class ControlOperations:
    """The phone, the network and the upstream's own life, as a test drives them."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        # Verification codes are what a test reads back from /_sim/scan, so they need no seed.
        self._code_rng = random.Random()
        self._switch_counter = 0
        self._bulk_counter = 0
        # Bytes of received media need no seed either: each message gets its own.
        self._media_rng = random.Random()

    def _lookup(self, uuid: Any) -> Instance:
        try:
            return self.state.lookup(uuid)
        except UpstreamError:
            raise ControlError(404, f"unknown uuid: {uuid}") from None

    def _logged_in(self, uuid: Any) -> tuple[Instance, int]:
        inst = self._lookup(uuid)
        if not inst.is_login or inst.account_id is None:
            raise ControlError(400, "实例未登录")
        return inst, inst.account_id

    # ----- the phone ----------------------------------------------------------------------------

    def scan(self, uuid: Any, user_id: int | None = None) -> dict[str, Any]:
        """The phone scans the pending QR (login or secondary verification).

        A device the account already used logs straight in (100001, 100002, 104001); a new device
        gets 100001, 100004 and a 6-digit code that CheckCode must receive. A SecondaryValidation QR
        clears the -11025 gate and, as the docs describe it, sends nothing (see settings).
        """
        state = self.state
        with state.lock:
            inst = self._lookup(uuid)
            if inst.secondary_pending:
                if inst.secondary_qr_key is None:
                    raise ControlError(400, "二次验证二维码尚未获取，请先调用 SecondaryValidation")
                account = state.account(inst.account_id or DEMO_USER_ID)
                state.pass_secondary(inst, account)
                return {"needCode": False, "code": None, "user_id": account.user_id, "secondary": True}
            if inst.is_login:
                raise ControlError(400, "实例已登录")
            if inst.qr_key is None:
                if inst.pending_code is not None:
                    raise ControlError(400, "已扫码，等待 CheckCode 提交验证码")
                raise ControlError(400, "没有待扫描的二维码，请先调用 getQrCode")
            account_id = user_id or inst.device_user_id or inst.init_vid or DEMO_USER_ID
            account = state.account(account_id)
            key = inst.qr_key
            inst.qr_key = None
            inst.current_image = None
            state.clear_qr_deadline(inst)
            state.emit(inst, CB_SCANNED, account.scan_payload(key))
            if account_id == inst.device_user_id:
                state.complete_login(inst, account, scanned_key=key)
                return {"needCode": False, "code": None, "user_id": account_id}
            code = f"{self._code_rng.randrange(10**6):06d}"
            inst.code_qr_key = key
            inst.pending_code = code
            inst.code_account_id = account_id
            state.touch(inst)
            state.emit(inst, CB_NEED_CODE, account.scan_payload(key))
            return {"needCode": True, "code": code, "user_id": account_id}

    def cancel_scan(self, uuid: Any, user_id: int | None) -> Payload:
        """The phone scans and then cancels (100001, 100003); the QR code stays valid for another scan."""
        state = self.state
        with state.lock:
            inst = self._lookup(uuid)
            key = inst.qr_key or inst.code_qr_key
            if key is None:
                raise ControlError(400, "没有待扫描的二维码，请先调用 getQrCode")
            who = user_id or inst.code_account_id or inst.device_user_id or inst.init_vid
            account = state.account(who or DEMO_USER_ID)
            if inst.qr_key is not None:
                state.emit(inst, CB_SCANNED, account.scan_payload(key))
            inst.qr_key = key
            inst.code_qr_key = inst.pending_code = inst.code_account_id = None
            state.set_qr_deadline(inst)
            payload = account.scan_payload(key)
            state.emit(inst, CB_SCAN_CANCELLED, payload)
            return payload

    def drop(self, uuid: Any, type_: int, require_scan: bool = False, after_s: float = 0.0) -> Payload:
        """Inject a disconnect callback and its effect (now, or 100012 `after_s` seconds from now)."""
        if type_ not in DISCONNECT_MESSAGES:
            raise ControlError(400, f"type must be one of {sorted(DISCONNECT_MESSAGES)}")
        state = self.state
        with state.lock:
            inst = self._lookup(uuid)
            vid = inst.account_id or inst.init_vid or 0
            payload: Payload = {"vid": vid, "msg": DISCONNECT_MESSAGES[type_]}
            if type_ == CB_SECONDARY:
                if not inst.is_login:
                    raise ControlError(400, "二次验证只会发生在已登录的实例上")
                if after_s > 0:
                    state.schedule(after_s, lambda: state.demand_secondary(inst.uuid))
                    return {**payload, "uuid": inst.uuid, "after_s": after_s}
                return state.demand_secondary(inst.uuid) or payload
            if after_s > 0:
                raise ControlError(400, "after_s is only for 100012")
            if type_ == CB_QR_TIMEOUT:
                state.emit(inst, type_, payload)
                state.remove(inst)
                return payload
            inst.login_type = LoginType.INITIALISED
            inst.secondary_pending = False
            inst.secondary_qr_key = None
            if require_scan and inst.account_id is not None:
                state.accounts[inst.account_id].needs_scan = True
                state.save_devices()
            state.touch(inst)
            state.emit(inst, type_, payload)
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
    ) -> Payload:
        """Deliver an incoming message to a logged-in account as callback 102000."""
        state = self.state
        with state.lock:
            _inst, receiver = self._logged_in(uuid)
        if sender is None:
            sender = self._a_contact(receiver)
        payload = state.messages.incoming(
            receiver=receiver,
            sender=sender,
            content=content,
            is_room=is_room,
            room_conversation_id=room_conversation_id,
            msgtype=msgtype,
            sender_name=sender_name,
        )
        with state.lock:
            inst = self._lookup(uuid)
            state.remember_message(inst.uuid, payload)
            state.emit(inst, CB_MESSAGE, payload)
        return payload

    def push_media(
        self,
        uuid: Any,
        msgtype: int,
        *,
        sender: int | None,
        is_room: bool,
        room_conversation_id: str | None,
        file_name: str | None,
        data: bytes | None,
        public_url: str,
    ) -> Payload:
        """Deliver a received image, file, voice, video or GIF as callback 102000 (received_media.py); its file is
        on the CDN, where the download action of its kind finds it."""
        state = self.state
        if msgtype not in received_media.MEDIA_MSGTYPES and msgtype != received_media.GIF_MSGTYPE:
            kinds = ", ".join(str(code) for code in [*received_media.MEDIA_MSGTYPES, received_media.GIF_MSGTYPE])
            raise ControlError(400, f"msgtype must be one of {kinds}")
        with state.lock:
            _inst, receiver = self._logged_in(uuid)
        if sender is None:
            sender = self._a_contact(receiver)
        if msgtype == received_media.GIF_MSGTYPE:
            fields, _blob = received_media.gif_fields(state.cdn, self._media_rng, public_url)
        else:
            fields, _blob = received_media.media_fields(state.cdn, self._media_rng, msgtype, file_name, data)
        payload = state.messages.incoming(
            receiver=receiver,
            sender=sender,
            content="",
            is_room=is_room,
            room_conversation_id=room_conversation_id,
            msgtype=msgtype,
        )
        del payload["content"], payload["atList"]  # media messages carry neither
        payload.update(fields)
        with state.lock:
            inst = self._lookup(uuid)
            state.remember_message(inst.uuid, payload)
            state.emit(inst, CB_MESSAGE, payload)
        return payload

    def _a_contact(self, user_id: int) -> int:
        """The account's first external contact that is still a friend."""
        friends = [c for c in self.state.directory.external(user_id) if c["status"] not in (0, 8, 2049)]
        return friends[0]["user_id"] if friends else FALLBACK_CONTACT

    def event(self, uuid: Any, name: str, options: dict[str, Any]) -> tuple[int, Payload]:
        """Send one of EVENT_TYPES; returns (callback type, payload)."""
        if name not in EVENT_TYPES:
            raise ControlError(400, f"type must be one of {', '.join(EVENT_TYPES)}")
        if name == "100003":
            return CB_SCAN_CANCELLED, self.cancel_scan(uuid, options.get("user_id"))
        if name == "100006":
            return CB_CORP_SWITCH, self.switch_corp(uuid, options)
        if name == "duplicate":
            return CB_MESSAGE, self.duplicate(uuid)
        return self._account_event(uuid, name, options)

    def _account_event(self, uuid: Any, name: str, options: dict[str, Any]) -> tuple[int, Payload]:
        """An event of a logged-in account: a notice, a room change or a friend request."""
        state = self.state
        with state.lock:
            inst, own = self._logged_in(uuid)
        contact = options.get("contact") or self._a_contact(own)
        if name == "116001":
            return self._friend_request(uuid, own, options.get("contact"))
        if name == "ban":
            type_, payload = CB_MESSAGE, self._ban(own, options)
        elif name in ("102001", "102002", "102006"):
            type_, payload = self._contact_notice(name, own, contact)
        else:
            type_, payload = self._room_event(name, own, contact, options)
        with state.lock:
            inst = self._lookup(uuid)
            if type_ == CB_MESSAGE:
                state.remember_message(inst.uuid, payload)
            state.emit(inst, type_, payload)
        return type_, payload

    def _contact_notice(self, name: str, own: int, contact: Any) -> tuple[int, Payload]:
        messages = self.state.messages
        if name == "102006":
            return CB_READ_ON_PHONE, notices.read_on_phone(messages, own, contact)
        blocked = name == "102002"
        return int(name), notices.contact_bounce(messages, own, contact, blocked=blocked, name="客户")

    def _room_event(self, name: str, own: int, contact: Any, options: dict[str, Any]) -> tuple[int, Payload]:
        state = self.state
        room_id = str(options.get("room_id") or "10927640775842980")
        type_, payload = int(name), notices.room_event(state.messages, int(name), own, room_id, contact)
        with state.lock:
            account = state.accounts[own]
            if type_ == 115001:
                state.rooms.created(account, int(room_id), contact)
            else:
                state.rooms.changed(account, type_, int(room_id), contact)
        return type_, payload

    def _friend_request(self, uuid: Any, own: int, contact: int | None) -> tuple[int, Payload]:
        """116001 from a new person (or `contact`), kept waiting for AgreeUser; with verification off
        (AutomaticConsent state 0) accepted at once instead, announced as a new contact (116002)."""
        state = self.state
        with state.lock:
            inst = self._lookup(uuid)
            applicant = None
            if contact:
                known = next((c for c in state.directory.external(own) if c["user_id"] == contact), None)
                applicant = known or {"user_id": contact, "nickname": "十年一刻"}
            entry = state.friends.new_request(own, applicant)
            if not state.friends.of(own).verification:
                accepted = state.friends.accept(own, entry["user_id"])
                contact_entry = state.befriend(inst, own, accepted)
                return CB_CONTACT_CHANGED, {"issync": False, "list": [contact_entry], "seq": contact_entry["seq"]}
            payload = notices.friend_request(entry)
            state.emit(inst, CB_FRIEND_REQUEST, payload)
            return CB_FRIEND_REQUEST, payload

    def _ban(self, own: int, options: dict[str, Any]) -> Payload:
        key = notices.new_ban_key()
        start = int(time.time())
        ban = {
            "key": key,
            "user_id": own,
            "title": str(options.get("title") or "你的部分功能已被限制使用"),
            "reason": str(options.get("reason") or "涉嫌存在骚扰/恶意引流/欺诈等违规行为"),
            "functions": str(options.get("functions") or "新建客户群；邀请客户加入群聊；添加客户；客户聊天"),
            "start": start,
            "finish": start + int(options.get("duration_s") or 7 * 86400),
        }
        with self.state.lock:
            self.state.bans[key] = ban
        return notices.ban_notice(self.state.messages, own, key)

    def duplicate(self, uuid: Any) -> Payload:
        """The latest message of the instance again, with `referid` != 0 (注意事项: 遇到重复消息原因)."""
        state = self.state
        with state.lock:
            inst = self._lookup(uuid)
            recent = state.recent_messages.get(inst.uuid)
            if not recent:
                raise ControlError(400, "no message was delivered to this instance yet")
            _msg_id, server_id, _app_info = state.messages.next_ids()
            payload = {**recent[-1], "referid": server_id}
            state.emit(inst, CB_MESSAGE, payload)
            return payload

    def switch_corp(self, uuid: Any, options: dict[str, Any]) -> Payload:
        """100006: the logged-in account moves to another corp, under another id; the device knows it."""
        state = self.state
        with state.lock:
            inst, old_vid = self._logged_in(uuid)
            new_vid = options.get("user_id")
            if not new_vid:
                self._switch_counter += 1
                new_vid = _SWITCHED_USER_ID_BASE + self._switch_counter
            old = state.accounts[old_vid]
            account = state.account(int(new_vid))
            account.corp_id = int(options.get("corp_id") or SWITCH_CORP_ID)
            account.corp_name = account.corp_full_name = str(options.get("corp_name") or SWITCH_CORP_NAME)
            account.has_logged_in = True
            inst.account_id = inst.device_user_id = account.user_id
            state.touch(inst)
            payload = notices.corp_switch(
                old.user_id, account.user_id, account.corp_id, account.corp_name, account.nickname, account.avatar
            )
            state.emit(inst, CB_CORP_SWITCH, payload)
            state.save_devices()
            return payload

    # ----- the upstream's own life ----------------------------------------------------------------

    def restart_upstream(self) -> int:
        """Every instance is gone, device knowledge is kept (see SimulatorState.restart)."""
        return self.state.restart()

    def bulk_login(self, count: int, callback_url: str | None) -> list[dict[str, Any]]:
        """Create `count` instances already logged in with distinct accounts (no callbacks sent)."""
        state = self.state
        created = []
        with state.lock:
            for _ in range(count):
                self._bulk_counter += 1
                account = state.account(_BULK_USER_ID_BASE + self._bulk_counter)
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
                state.touch(inst)
                state.instances[inst.uuid] = inst
                created.append({"uuid": inst.uuid, "vid": account.user_id})
        return created

    def set_account_flags(self, user_id: int, needs_scan: bool) -> dict[str, Any]:
        """Mark an account as needing a person to scan (automaticLogin then fails) or clear that."""
        state = self.state
        with state.lock:
            account = state.account(user_id)
            account.needs_scan = needs_scan
            state.save_devices()
            return account.summary()

    def reset(self) -> None:
        self._switch_counter = 0
        self._bulk_counter = 0
