"""The simulator's memory: instances, accounts, QR images and timed events, behind one lock.

What the upstream does is split in two: `upstream_ops.py` holds the documented calls (`/wxwork/*`),
`control_ops.py` what a test or a person does on the phone and to the upstream (`/_sim/*`). Both work on
this state and share the transitions below (a login completing, a QR code expiring). Every state change
that the upstream would announce enqueues a callback; delivery happens elsewhere (callbacks.py).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
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
from .cdn import CdnStore
from .directory import Directory
from .errors import ErrorTable
from .friends import FriendBook, as_contact
from .history import MessageHistory
from .messages import MessageFactory, SentStore
from .model import (
    CB_CONFIRMED,
    CB_CONTACT_CHANGED,
    CB_LOGIN_OK,
    CB_QR_TIMEOUT,
    CB_SCANNED,
    CB_SECONDARY,
    DISCONNECT_MESSAGES,
    Instance,
    LoginType,
    Payload,
)
from .qr import login_qr_text, new_image_name, qr_image
from .rooms import RoomBook
from .settings import SimulatorSettings

log = logging.getLogger(__name__)

# Incoming messages remembered per instance, so a duplicate delivery (referid != 0) can repeat one.
_RECENT_MESSAGES = 50


class SimulatorState:
    """All instances and accounts, and the transitions both the upstream calls and the controls use."""

    def __init__(
        self,
        settings: SimulatorSettings,
        dispatcher: CallbackDispatcher,
        directory: Directory,
        messages: MessageFactory,
        sent: SentStore,
    ) -> None:
        self.settings = settings
        self.errors = ErrorTable(settings.errors)
        self.dispatcher = dispatcher
        self.directory = directory
        self.messages = messages
        self.sent = sent
        self.lock = threading.RLock()
        self.instances: dict[str, Instance] = {}
        self.accounts: dict[int, Account] = {}
        # Image file name -> image bytes, while the instance that issued it exists.
        self.images: dict[str, bytes] = {}
        # Ban notices sent, by the key in their jumpUrl: what getBanDetile explains.
        self.bans: dict[str, dict[str, Any]] = {}
        # uuid -> latest incoming message payloads (newest last).
        self.recent_messages: dict[str, deque[Payload]] = {}
        # What lives on WeCom's side and outlasts an upstream restart: files on its CDN, each account's rooms
        # and friend requests (cdn.py, rooms.py, friends.py).
        self.cdn = CdnStore(settings.seed, settings.media_keep_bytes)
        self.rooms = RoomBook(directory, settings.seed, settings.rooms_per_account, settings.room_members_max)
        self.friends = FriendBook(settings.seed, settings.friend_requests)
        # account -> its incoming messages, for SyncAllData (an account's history outlives its instances).
        self.history = MessageHistory()
        # uuid -> deadline of its unscanned QR; the clock only looks at these.
        self._qr_deadlines: dict[str, float] = {}
        # (monotonic due time, sequence, action): events the upstream sends later (delayed 100012, ...).
        self._timers: list[tuple[float, int, Callable[[], object]]] = []
        self._timer_seq = itertools.count()
        self._stop = threading.Event()
        self._clock: threading.Thread | None = None
        self._load_devices()

    # ----- lifecycle ------------------------------------------------------------------------------

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the clock thread (QR expiry, timed events)."""
        self._stop.set()
        clock = self._clock
        if clock is not None:
            clock.join(timeout)
        self._clock = None

    def reset(self) -> None:
        """Forget every instance, account and timed event."""
        with self.lock:
            self.instances.clear()
            self.accounts.clear()
            self.images.clear()
            self.bans.clear()
            self.recent_messages.clear()
            self.cdn.clear()
            self.rooms.clear()
            self.friends.clear()
            self.directory.forget_added()
            self.history.clear()
            self._qr_deadlines.clear()
            self._timers.clear()
            self._save_devices()

    def restart(self) -> int:
        """The upstream service restarts: every instance is gone, what each device knows is kept.

        This is the docs' own reconnect scenario (自动登录重连流程): init(vid) + automaticLogin logs a known
        account back in. Nothing is announced: a process that stops sends no callback. Returns how many
        instances were dropped.
        """
        with self.lock:
            dropped = len(self.instances)
            self.instances.clear()
            self.images.clear()
            self.recent_messages.clear()
            self._qr_deadlines.clear()
            self._timers.clear()
            return dropped

    def schedule(self, delay_s: float, action: Callable[[], object]) -> None:
        """Run `action` (under the lock) `delay_s` seconds from now, on the clock thread."""
        with self.lock:
            heapq.heappush(self._timers, (time.monotonic() + delay_s, next(self._timer_seq), action))
            self._ensure_clock()

    def _ensure_clock(self) -> None:
        if self._clock is None and not self._stop.is_set():
            self._clock = threading.Thread(target=self._clock_loop, name="sim-clock", daemon=True)
            self._clock.start()

    def _clock_loop(self) -> None:
        # Fine enough for a 1 s QR ttl or a 1 s delayed event in tests; costs nothing otherwise.
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self.lock:
                due = [u for u, deadline in self._qr_deadlines.items() if deadline <= now]
                for uuid in due:
                    inst = self.instances.get(uuid)
                    if inst is not None:
                        self.expire_qr(inst)
                    else:
                        self._qr_deadlines.pop(uuid, None)
                while self._timers and self._timers[0][0] <= now:
                    _, _, action = heapq.heappop(self._timers)
                    try:
                        action()
                    except Exception:  # one broken timed event must not stop the clock
                        log.exception("timed simulator event failed")

    # ----- shared helpers -------------------------------------------------------------------------

    def emit(self, inst: Instance, type_: int, payload: Payload) -> None:
        """Announce an event of `inst` to its callback URL."""
        self.dispatcher.enqueue(inst.uuid, inst.callback_url, type_, payload)

    def touch(self, inst: Instance) -> None:
        inst.update_time = int(time.time())

    def account(self, user_id: int) -> Account:
        """The account with this id, created on first sight (directory person or generated profile)."""
        account = self.accounts.get(user_id)
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
            self.accounts[user_id] = account
        return account

    def lookup(self, uuid: Any) -> Instance:
        """The instance of `uuid`, or the upstream's "unknown instance" error."""
        inst = self.instances.get(uuid) if isinstance(uuid, str) else None
        if inst is not None and inst.qr_deadline is not None and inst.qr_deadline <= time.monotonic():
            # The clock may lag a little; a call must never see an instance that already timed out.
            self.expire_qr(inst)
            inst = None
        if inst is None:
            raise self.errors.error("unknown_instance")
        return inst

    def usable(self, uuid: Any, *, need_login: bool, secondary_exempt: bool = False) -> Instance:
        """Instance for an upstream call, after the existence, -11025 and login checks (in that order)."""
        inst = self.lookup(uuid)
        if inst.secondary_pending and not secondary_exempt:
            raise self.errors.error("secondary_verification")
        if need_login and not inst.is_login:
            raise self.errors.error("not_logged_in")
        return inst

    def remove(self, inst: Instance) -> None:
        self.instances.pop(inst.uuid, None)
        self._qr_deadlines.pop(inst.uuid, None)
        self.recent_messages.pop(inst.uuid, None)
        for name in inst.qr_images:
            self.images.pop(name, None)

    def expire_qr(self, inst: Instance) -> None:
        payload = {"vid": inst.init_vid or 0, "msg": DISCONNECT_MESSAGES[CB_QR_TIMEOUT]}
        self.emit(inst, CB_QR_TIMEOUT, payload)
        self.remove(inst)

    def make_qr(self, key: str) -> tuple[str, bytes]:
        """(image file name, image bytes) of a QR code for `key`; call it outside the lock (it takes ms)."""
        name = key if self.settings.qr_file_name_is_key else new_image_name()
        return name, qr_image(login_qr_text(key), self.settings.qr_image_format)

    def keep_qr(self, inst: Instance, name: str, image: bytes) -> None:
        self.images[name] = image
        inst.qr_images.append(name)
        inst.current_image = name

    def set_qr_deadline(self, inst: Instance) -> None:
        inst.qr_deadline = time.monotonic() + self.settings.qr_ttl
        self._qr_deadlines[inst.uuid] = inst.qr_deadline
        self._ensure_clock()

    def clear_qr_deadline(self, inst: Instance) -> None:
        inst.qr_deadline = None
        self._qr_deadlines.pop(inst.uuid, None)

    def complete_login(self, inst: Instance, account: Account, *, scanned_key: str | None) -> None:
        """The instance is logged in as `account`: 100002 (after a scan) and 104001 are sent."""
        first_on_device = inst.device_user_id != account.user_id
        account.has_logged_in = True
        account.needs_scan = False
        inst.account_id = account.user_id
        inst.device_user_id = account.user_id
        inst.login_type = LoginType.LOGGED_IN
        inst.logintime = int(time.time())
        inst.qr_key = None
        inst.current_image = None
        inst.code_qr_key = inst.pending_code = inst.code_account_id = None
        inst.secondary_pending = False
        inst.secondary_qr_key = None
        self.clear_qr_deadline(inst)
        self.touch(inst)
        if scanned_key is not None:
            self.emit(inst, CB_CONFIRMED, account.scan_payload(scanned_key))
        self.emit(inst, CB_LOGIN_OK, account.login_payload(fill_ids=self.settings.login_callback_fills_ids))
        self._save_devices()
        delay = self.settings.secondary_after_first_login_s
        if first_on_device and delay > 0:
            self.schedule(delay, lambda: self.demand_secondary(inst.uuid))

    def demand_secondary(self, uuid: str) -> Payload | None:
        """WeCom asks for secondary verification: 100012, and -11025 from calls until a person scans."""
        inst = self.instances.get(uuid)
        if inst is None or not inst.is_login:
            return None  # the instance went away or logged out meanwhile: nothing to verify
        payload = {"vid": inst.account_id or 0, "msg": DISCONNECT_MESSAGES[CB_SECONDARY], "uuid": inst.uuid}
        inst.secondary_pending = True
        inst.secondary_qr_key = None
        self.touch(inst)
        self.emit(inst, CB_SECONDARY, payload)
        return payload

    def pass_secondary(self, inst: Instance, account: Account) -> None:
        """A person scanned the SecondaryValidation QR and confirmed: calls work again."""
        key = inst.secondary_qr_key
        inst.secondary_pending = False
        inst.secondary_qr_key = None
        inst.current_image = None
        self.touch(inst)
        if self.settings.secondary_scan_sends_login_callbacks and key is not None:
            self.emit(inst, CB_SCANNED, account.scan_payload(key))
            self.emit(inst, CB_CONFIRMED, account.scan_payload(key))
            self.emit(inst, CB_LOGIN_OK, account.login_payload(fill_ids=self.settings.login_callback_fills_ids))

    def befriend(self, inst: Instance, user_id: int, accepted: Payload) -> Payload:
        """An accepted applicant joins the account's external contacts; callback 116002 (status 9, added)
        announces it (23-callback-contact). Returns the new contact entry."""
        contact = self.directory.add_external(user_id, as_contact(accepted))
        self.emit(inst, CB_CONTACT_CHANGED, {"issync": False, "list": [contact], "seq": contact["seq"]})
        return contact

    def remember_message(self, uuid: str, payload: Payload) -> None:
        self.recent_messages.setdefault(uuid, deque(maxlen=_RECENT_MESSAGES)).append(payload)
        inst = self.instances.get(uuid)
        if inst is not None and inst.account_id is not None:
            # Kept on the upstream's side whether or not the callback gets through: SyncAllData replays it.
            self.history.add(inst.account_id, payload)

    def image(self, name: str) -> bytes | None:
        """A QR image this simulator issued, while its instance exists."""
        with self.lock:
            return self.images.get(name)

    # ----- device knowledge across process restarts -------------------------------------------------

    def _load_devices(self) -> None:
        path = self.settings.device_store
        if not path or not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8") as handle:
                known = json.load(handle)
            for entry in known.get("accounts", []):
                account = self.account(int(entry["user_id"]))
                account.corp_id = int(entry.get("corp_id") or account.corp_id)
                account.corp_name = str(entry.get("corp_name") or account.corp_name)
                account.has_logged_in = True
                account.needs_scan = bool(entry.get("needs_scan"))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("device store %s unreadable: starting without device knowledge", path)

    def _save_devices(self) -> None:
        path = self.settings.device_store
        if not path:
            return
        known = [
            {"user_id": a.user_id, "corp_id": a.corp_id, "corp_name": a.corp_name, "needs_scan": a.needs_scan}
            for a in self.accounts.values()
            if a.has_logged_in
        ]
        temporary = f"{path}.tmp"
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({"accounts": known}, handle)
            os.replace(temporary, path)
        except OSError:
            log.warning("device store %s not writable", path, exc_info=True)

    def save_devices(self) -> None:
        """Persist device knowledge now (after a control changed an account)."""
        with self.lock:
            self._save_devices()

    # ----- the control page's view ----------------------------------------------------------------

    def snapshot(self, limit: int | None = None) -> dict[str, Any]:
        """Everything the control page shows (never the proxy password); at most `limit` instances."""
        with self.lock:
            now = time.monotonic()
            shown = list(self.instances.values())
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
                    "qr_image": inst.current_image,
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
            accounts = [a.summary() for a in self.accounts.values()]
            if limit is not None:
                accounts = accounts[:limit]
            bans = list(self.bans.values())
        return {"instances": instances, "instances_total": total, "accounts": accounts, "bans": bans}
