"""The documented upstream calls (`/wxwork/<Action>`, upstream-api.md §2) on the simulator's state.

Each raises `UpstreamError` for a business error (the API layer answers it with HTTP 200 and the errcode);
the texts of undocumented errors come from the error table (errors.py), where they are marked invented.
"""

from __future__ import annotations

import base64
import time
import uuid as uuid_module
from typing import Any

from . import cdn, notices
from .accounts import DEMO_USER_ID, Account
from .cdn import Blob
from .friends import FriendRefusal
from .model import CB_MESSAGE, Instance, LoginType, Payload, Proxy
from .parsing import parse_int
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

    # ----- sending more than text (upstream-api-more.md §1) -------------------------------------------

    def _sender(self, uuid: Any) -> tuple[Instance, Account]:
        with self.state.lock:
            inst = self.state.usable(uuid, need_login=True)
            assert inst.account_id is not None
            return inst, self.state.accounts[inst.account_id]

    def _keep_sent(self, inst: Instance, echo: Payload, target: int, is_room: bool, **details: Any) -> Payload:
        self.state.sent.add(
            {
                "uuid": inst.uuid,
                "send_userid": target,
                "isRoom": is_room,
                "time": time.time(),
                "sender": echo["sender"],
                "msg_id": echo["msg_id"],
                "server_id": echo["server_id"],
                "msgtype": echo["msgtype"],
                **details,
            }
        )
        return echo

    def send_text_at(
        self, uuid: Any, room_id: int | None, is_room: bool, content: str, at_ids: list[int], at_all: bool
    ) -> Payload:
        """SendTextAtMsg / SendTextAtMsgTwo: a room message @mentioning members (user id 0 is @all)."""
        state = self.state
        inst, account = self._sender(uuid)
        if not is_room:
            raise self.errors.error("room_only")
        with state.lock:
            room = state.rooms.find(account, room_id)
            if room is None or room_id is None:
                raise self.errors.error("unknown_room")
            strangers = [user_id for user_id in at_ids if user_id not in room.members]
        if strangers and not state.settings.at_anyone:
            raise self.errors.error("not_in_room", user_id=strangers[0])
        at_list = [{"user_id": user_id, "nikeName": ""} for user_id in at_ids]
        echo = state.messages.sent(account.user_id, room_id, True, 2, {"at_list": at_list, "content": content})
        return self._keep_sent(inst, echo, room_id, True, content=content, at=at_ids, atAll=at_all)

    def upload(self, uuid: Any, kind: str, url: str | None, data: bytes | None, file_name: str) -> Blob:
        """Step 1 of an image or file: from `url` (fetched now, as the upstream does) or from `data`."""
        self._sender(uuid)
        settings = self.state.settings
        try:
            if url is not None:
                data, name_in_url = cdn.fetch(url, settings.upload_max_bytes, settings.upload_fetch_timeout)
                file_name = file_name or name_in_url
            assert data is not None
            if len(data) > settings.upload_max_bytes:
                raise cdn.CdnRefusal("upload_too_large", limit=settings.upload_max_bytes)
            if kind == cdn.IMAGE:
                return self.state.cdn.upload_image(data, file_name or "image")
            return self.state.cdn.upload_file(data, file_name or "file")
        except cdn.CdnRefusal as refusal:
            raise self.errors.error(refusal.name, **refusal.fields) from None

    def send_cdn(
        self, uuid: Any, kind: str, target: int, is_room: bool, fields: dict[str, Any], file_name: str = ""
    ) -> Payload:
        """Step 2 of an image (SendCDNImgMsg, msgtype 14) or a file (SendCDNFileMsg, msgtype 15).

        The keys must be those an upload answered: its cdnkey, aeskey, md5 and size, and for an image the
        width, height and thumbnail fields where the send gives them (the `cdn_send_unchecked` setting lifts it).
        """
        inst, account = self._sender(uuid)
        if not self.state.settings.cdn_send_unchecked:
            self._check_upload(kind, fields)
        echo_fields = {
            "cdn_key": fields["cdnkey"],
            "file_name": file_name,
            "size": fields["fileSize"],
            "aes_key": fields["aeskey"],
            "md5": fields["md5"],
        }
        msgtype = 14 if kind == cdn.IMAGE else 15
        echo = self.state.messages.sent(account.user_id, target, is_room, msgtype, echo_fields)
        return self._keep_sent(inst, echo, target, is_room, cdnkey=fields["cdnkey"], file_name=file_name)

    def _check_upload(self, kind: str, fields: dict[str, Any]) -> None:
        blob = self.state.cdn.get(fields.get("cdnkey"))
        if blob is None or blob.kind != kind or blob.wechat:
            raise self.errors.error("unknown_cdn_key")
        expected: dict[str, Any] = {"aeskey": blob.aes_key, "md5": blob.md5, "fileSize": blob.size}
        if kind == cdn.IMAGE and blob.thumb is not None:
            expected.update(
                width=blob.width,
                height=blob.height,
                thumb_image_width=blob.thumb.width,
                thumb_image_height=blob.thumb.height,
                thumb_file_size=blob.thumb.size,
                thumb_file_md5=blob.thumb.md5,
            )
        required = ("aeskey", "md5", "fileSize")
        for name, value in expected.items():
            given = fields.get(name)
            if given is None and name not in required:
                continue  # the docs list only cdnkey, aeskey, md5 and fileSize as required
            if str(given).lower() != str(value).lower():
                raise self.errors.error("cdn_mismatch", field=name)

    def revoke(self, uuid: Any, msg_id: int | None, room_id: int | None) -> None:
        """RevokeMsg: only a message this account sent, in the conversation named by `roomid` (0 outside rooms),
        within `revoke_limit_s` of sending it, and only once."""
        _inst, account = self._sender(uuid)
        message = self.state.sent.find(msg_id)
        if message is None or message["sender"] != account.user_id:
            raise self.errors.error("unknown_message")
        if (room_id or 0) != (message["send_userid"] if message["isRoom"] else 0):
            raise self.errors.error("unknown_message")
        if time.time() - message["time"] > self.state.settings.revoke_limit_s:
            raise self.errors.error("revoke_expired")
        if not self.state.sent.mark_revoked(message):
            raise self.errors.error("unknown_message")

    # ----- received media (upstream-api-more.md §2) --------------------------------------------------

    def download_file(self, uuid: Any, body: dict[str, Any], public_url: str) -> str:
        """DownloadFile: a colleague's image (filetype 1/2 as its is_hd), thumbnail (3), video (4), file or voice
        (5); the aes key and the size of what is asked for must be right (the docs: a wrong size fails)."""
        self._sender(uuid)
        blob = self.state.cdn.get(body.get("fileid"))
        if blob is None or blob.wechat or blob.kind == cdn.BIG_FILE:
            raise self.errors.error("unknown_file")
        filetype = body.get("filetype")
        if filetype == cdn.FILETYPE_THUMB:
            target = blob.thumb
        elif blob.kind == cdn.IMAGE:
            target = blob if filetype == blob.is_hd else None
        else:
            target = blob if filetype == cdn.FILETYPES[blob.kind] else None
        if target is None:
            raise self.errors.error("download_mismatch", field="filetype")
        return self._link(target, body, public_url)

    def download_wechat_file(self, uuid: Any, body: dict[str, Any], public_url: str) -> str:
        """DownloadWeChatFile: a WeChat user's image, file or video, by its URL-shaped file id and auth key."""
        self._sender(uuid)
        blob = self.state.cdn.get(body.get("url"))
        if blob is None or not blob.wechat:
            raise self.errors.error("unknown_file")
        if str(body.get("auth_key") or "") != blob.auth_key:
            raise self.errors.error("download_mismatch", field="auth_key")
        return self._link(blob, body, public_url)

    def big_file_download(self, uuid: Any, body: dict[str, Any], public_url: str) -> Payload:
        """bigFileDownUrl: a big file (`*1*…` id; it has no aes key)."""
        self._sender(uuid)
        blob = self.state.cdn.get(body.get("fileid"))
        if blob is None or blob.kind != cdn.BIG_FILE:
            raise self.errors.error("unknown_file")
        return {"url": self._link(blob, {**body, "aes_key": blob.aes_key}, public_url), "md5": blob.md5.upper()}

    def _link(self, blob: Blob, body: dict[str, Any], public_url: str) -> str:
        if not body.get("file_name"):
            raise self.errors.error("missing_field", field="file_name")
        if str(body.get("aes_key") or "").lower() != blob.aes_key.lower():
            raise self.errors.error("download_mismatch", field="aes_key")
        if parse_int(body.get("size"), "size", -1) != blob.size:
            raise self.errors.error("download_mismatch", field="size")
        return self.state.cdn.link(blob, public_url, str(body["file_name"]))

    # ----- rooms (upstream-api-more.md §3) ------------------------------------------------------------

    def session_rooms(self, uuid: Any, star_index: int, limit: int) -> Payload:
        """GetSessionRoomList: a page of the account's rooms from offset `star_index` (empty past the end)."""
        _inst, account = self._sender(uuid)
        with self.state.lock:
            return {"seq": 0, "room_list": self.state.rooms.page(account, star_index, limit)}

    def room_members(self, uuid: Any, room_id: int | None) -> Payload:
        """GetRoomUserList: one of the account's rooms with its members."""
        _inst, account = self._sender(uuid)
        with self.state.lock:
            room = self.state.rooms.find(account, room_id)
            if room is None:
                raise self.errors.error("unknown_room")
            return room.detail()

    # ----- friends (upstream-api-more.md §4) ----------------------------------------------------------

    def apply_users(self, uuid: Any, seq: int, limit: int) -> Payload:
        """GetApplyUserList: friend requests after `seq`."""
        _inst, account = self._sender(uuid)
        with self.state.lock:
            page, next_seq = self.state.friends.page(account.user_id, seq, limit)
        return {"list": page, "seq": next_seq}

    def agree_user(self, uuid: Any, vid: int | None) -> None:
        """AgreeUser: the waiting request of `vid` is accepted; the applicant becomes a contact (116002)."""
        inst, account = self._sender(uuid)
        with self.state.lock:
            try:
                entry = self.state.friends.accept(account.user_id, vid or 0)
            except FriendRefusal:
                raise self.errors.error("unknown_applicant") from None
            self.state.befriend(inst, account.user_id, entry)

    def set_friend_verification(self, uuid: Any, required: bool) -> None:
        """AutomaticConsent: state 1 waits for AgreeUser, state 0 accepts every new request at once."""
        _inst, account = self._sender(uuid)
        with self.state.lock:
            self.state.friends.set_verification(account.user_id, required)

    def users_by_ids(self, uuid: Any, vids: list[int]) -> list[Payload]:
        """GetUserInfoByVids: the profiles the account can see (colleagues, contacts, applicants, room
        members); ids it knows nothing about are left out."""
        _inst, account = self._sender(uuid)
        state = self.state
        with state.lock:
            known: dict[int, Payload] = {}
            for room in state.rooms.of(account):
                for user_id, member in room.members.items():
                    known.setdefault(user_id, {**member, "user_id": user_id})
            known.update((entry["user_id"], entry) for entry in state.friends.of(account.user_id).entries.values())
            known.update((c["user_id"], c) for c in state.directory.external(account.user_id))
            people = state.directory.inner(account.corp_id, account.corp_name)
            known.update((p["user_id"], p) for p in people if p["is_Department"] == 0)
            known.update((user_id, other.run_client_object()) for user_id, other in state.accounts.items())
        return [_profile(known[vid]) for vid in vids if vid in known]


def _profile(person: Payload) -> Payload:
    """One entry of GetUserInfoByVids (08-contact, 根据用户id批量获取详细信息)."""
    keys = ("unionid", "user_id", "sex", "mobile", "nickname", "acctid", "avatar", "position", "corp_id")
    entry = {key: person.get(key, "" if key not in ("sex", "corp_id") else 0) for key in keys}
    return {**entry, "create_time": 0, "english_name": person.get("english_name", ""), "realname": ""}
