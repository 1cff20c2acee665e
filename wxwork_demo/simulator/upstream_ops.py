"""The documented upstream calls (`/wxwork/<Action>`, upstream-api.md §2) on the simulator's state.

Each raises `UpstreamError` for a business error (the API layer answers it with HTTP 200 and the errcode);
the texts of undocumented errors come from the error table (errors.py), where they are marked invented.
"""

from __future__ import annotations

import base64
import time
import uuid as uuid_module
from typing import Any

from . import notices
from .accounts import DEMO_USER_ID, Account
from .model import CB_MESSAGE, Instance, LoginType, Payload, Proxy
from .qr import new_qrcode_key
from .state import SimulatorState


class UpstreamOperations:
    """What a client of the upstream can ask for."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        self.errors = state.errors

    def init(self, vid: int | None, proxy: Proxy) -> tuple[str, bool]:
        """Create an instance; returns (uuid, is_login).

        With an id, that id is the uuid ("如果初始化传了id则用初始化的id作为uuid", A16) unless the
        `init_uuid_is_vid` setting is off. init with the vid of an account that is logged in right now
        returns that running instance (is_login true) instead of a second one.
        """
        state = self.state
        with state.lock:
            reused = False
            if vid is not None:
                for inst in state.instances.values():
                    if inst.account_id == vid and inst.is_login:
                        return inst.uuid, True
                account = state.accounts.get(vid)
                reused = account is not None and account.has_logged_in
            uuid = str(vid) if vid is not None and state.settings.init_uuid_is_vid else str(uuid_module.uuid4())
            old = state.instances.get(uuid)
            if old is not None:
                state.remove(old)  # init again under the same id: a fresh instance replaces the idle one
            inst = Instance(
                uuid=uuid,
                init_vid=vid,
                proxy=proxy,
                created_at=time.time(),
                device_user_id=vid if reused else None,
            )
            state.touch(inst)
            state.instances[inst.uuid] = inst
            return inst.uuid, False

    def set_callback(self, uuid: Any, url: str | None, callback_type: str) -> None:
        """Register (per uuid) where callbacks go."""
        with self.state.lock:
            inst = self.state.usable(uuid, need_login=False)
            inst.callback_url = url
            inst.callback_type = callback_type

    def get_qrcode(self, uuid: Any, public_url: str) -> Payload:
        """Issue a login QR code; it destroys the instance if nobody scans it within qr_ttl."""
        state = self.state
        key = new_qrcode_key()
        name, image = state.make_qr(key)  # outside the lock: encoding takes a few milliseconds
        with state.lock:
            inst = state.usable(uuid, need_login=False)
            if inst.is_login:
                raise self.errors.error("already_logged_in")
            inst.qr_key = key
            inst.code_qr_key = inst.pending_code = inst.code_account_id = None
            state.set_qr_deadline(inst)
            state.keep_qr(inst, name, image)
            state.touch(inst)
        return {
            "qrcode": f"{public_url}/{name}.png",
            "qrcode_data": base64.b64encode(image).decode("ascii"),
            "Ttl": max(1, round(state.settings.qr_ttl)),
            "Key": key,
        }

    def check_code(self, uuid: Any, qrcode_key: Any, code: Any) -> None:
        """Submit the code the phone shows; success completes the login."""
        state = self.state
        with state.lock:
            inst = state.usable(uuid, need_login=False)
            if inst.pending_code is None or inst.code_qr_key is None:
                raise self.errors.error("no_verify_needed")
            if str(qrcode_key or "").upper() != inst.code_qr_key:
                raise self.errors.error("wrong_qrcode_key")
            if str(code or "").strip() != inst.pending_code:
                raise self.errors.error("wrong_code")
            account = state.account(inst.code_account_id or DEMO_USER_ID)
            state.complete_login(inst, account, scanned_key=inst.code_qr_key)

    def automatic_login(self, uuid: Any) -> None:
        """Log in again without a scan; only for init(vid) of an account that logged in before."""
        state = self.state
        with state.lock:
            inst = state.usable(uuid, need_login=False)
            if inst.is_login:
                return
            account = state.accounts.get(inst.init_vid) if inst.init_vid is not None else None
            if account is None or not account.has_logged_in or account.needs_scan:
                raise self.errors.error("automatic_login_failed")
            state.complete_login(inst, account, scanned_key=None)

    def login_out(self, uuid: Any) -> None:
        """Log the instance out; it stays, and init(vid) + automaticLogin can come back later."""
        with self.state.lock:
            inst = self.state.usable(uuid, need_login=True)
            inst.login_type = LoginType.INITIALISED
            self.state.touch(inst)

    def secondary_validation(self, uuid: Any, public_url: str) -> Payload:
        """QR code answering a secondary-verification challenge (no qrcode_data, per §2.7)."""
        state = self.state
        key = new_qrcode_key()
        name, image = state.make_qr(key)
        with state.lock:
            inst = state.usable(uuid, need_login=True, secondary_exempt=True)
            inst.secondary_qr_key = key
            state.keep_qr(inst, name, image)
            state.touch(inst)
        return {"qrcode": f"{public_url}/{name}.png", "Ttl": max(1, round(state.settings.qr_ttl)), "Key": key}

    def _user_info(self, inst: Instance, requrl: str) -> Payload | None:
        if inst.account_id is None:
            return None
        return {
            "object": self.state.accounts[inst.account_id].run_client_by_uuid_object(),
            "userid": inst.account_id,
            "clientId": inst.uuid,
            "updateTime": inst.update_time,
            "uuid": inst.uuid,
            "requrl": requrl,
            "isLogin": inst.is_login,
        }

    def run_clients(self, requrl: str) -> list[Payload]:
        """GetRunClient: one single-key object per instance that has an account bound."""
        state = self.state
        with state.lock:
            result = []
            for inst in state.instances.values():
                if inst.account_id is None:
                    continue
                entry = {
                    "isLogin": inst.is_login,
                    "clientId": inst.uuid,
                    "updateTime": inst.update_time,
                    "userid": inst.account_id,
                    "uuid": inst.uuid,
                    "requrl": requrl,
                    "object": state.accounts[inst.account_id].run_client_object(),
                }
                result.append({str(inst.account_id): entry})
            return result

    def run_client_by_uuid(self, uuid: Any, requrl: str) -> Payload:
        """GetRunClientByUuid: loginType and, once an account is bound, user_info.

        While secondary verification is pending it answers -11025 like every call (upstream-api-more.md
        §7), unless the `secondary_exempts_status_calls` setting keeps it answering.
        """
        with self.state.lock:
            exempt = self.state.settings.secondary_exempts_status_calls
            inst = self.state.usable(uuid, need_login=False, secondary_exempt=exempt)
            return {
                "logintime": inst.logintime,
                "loginType": int(inst.login_type),
                "user_info": self._user_info(inst, requrl),
                "uuid": inst.uuid,
            }

    def close(self, uuid: Any) -> None:
        """CloseConnent: the instance is gone; a new init is needed."""
        with self.state.lock:
            self.state.remove(self.state.usable(uuid, need_login=False))

    def set_proxy(self, uuid: Any, proxy: Proxy) -> None:
        """Change the proxy; a global one (proxySituation 1 at init) cannot be removed."""
        with self.state.lock:
            inst = self.state.usable(uuid, need_login=False)
            removing = proxy.ip in ("", "127.0.0.1")
            if inst.proxy.situation == 1 and inst.proxy.ip and removing:
                raise self.errors.error("global_proxy")
            proxy.situation = inst.proxy.situation
            inst.proxy = proxy

    def send_text(self, uuid: Any, send_userid: int, is_room: bool, content: str, kf_id: int) -> Payload:
        """Store the message and return the echo of §2.12."""
        state = self.state
        with state.lock:
            inst = state.usable(uuid, need_login=True)
            sender = inst.account_id
        assert sender is not None
        echo = state.messages.sent_echo(sender, send_userid, is_room, content)
        state.sent.add(
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
        with self.state.lock:
            inst = self.state.usable(uuid, need_login=True)
            assert inst.account_id is not None
            return self.state.accounts[inst.account_id]

    def sync_all_data(self, uuid: Any, seq: int, limit: int) -> Payload:
        """SyncAllData: the account's messages after `seq` pushed again as callbacks, with `issync: true`."""
        state = self.state
        with state.lock:
            inst = state.usable(uuid, need_login=True)
            account_id = inst.account_id
        replayed = state.history.after(account_id, seq, limit) if account_id is not None else []
        with state.lock:
            for payload in replayed:
                state.emit(inst, CB_MESSAGE, {**payload, "issync": True})
        newest = replayed[-1]["server_id"] if replayed else seq
        return {"is_select": bool(replayed), "seq": newest, "content": "同步消息已经分发到消息回调中"}

    def ban_detail(self, uuid: Any, url: Any) -> Payload:
        """getBanDetile: what a ban notice's jumpUrl says (title, reason, functions, start and end)."""
        account = self.logged_in_account(uuid)
        key = notices.ban_key_of(str(url or ""))
        with self.state.lock:
            ban = self.state.bans.get(key or "")
        if ban is None or ban["user_id"] != account.user_id:
            raise self.errors.error("unknown_ban_url")
        return notices.ban_detail(account.user_id, account.corp_id, ban["key"], ban)
