"""The webhook intake: decode the upstream's `{uuid, json, type}` and act on the type code."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wxwork_demo.config import IPNetwork, current_settings
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError, BadInput
from wxwork_demo.models import CallbackKey, Event, Instance, Message, utcnow
from wxwork_demo.services.events import add_event, event_values
from wxwork_demo.services.friends.requests import record_applicants
from wxwork_demo.services.inbox.catch_up import catch_up_after_login
from wxwork_demo.services.inbox.store import accounts as inbox_accounts
from wxwork_demo.services.inbox.store import held as message_held
from wxwork_demo.services.inbox.store import inbox_row
from wxwork_demo.services.inbox.store import store_alone as store_message_alone
from wxwork_demo.services.instances.closing import forget_other_instances_of
from wxwork_demo.services.instances.registry import account_key, find_instance
from wxwork_demo.services.instances.state import (
    INITIALISED,
    NEEDS_PERSON,
    OFFLINE,
    ONLINE,
    WAITING_CODE,
    WAITING_SCAN,
    set_state,
)
from wxwork_demo.services.intake.counters import count
from wxwork_demo.services.intake.group_commit import group_commit
from wxwork_demo.services.intake.payloads import storable_payload, storable_text
from wxwork_demo.services.monitor.notices import notice_of, record_notice
from wxwork_demo.services.monitor.reconnect import (
    hand_over_to_a_person,
    request_secondary_validation,
    schedule_reconnect,
)
from wxwork_demo.services.rooms.listing import note_room_change
from wxwork_demo.services.secrets import callback_token, same_secret

# Counters (services/intake/counters.py), shown at /metrics.
CALLBACKS_ACCEPTED = "callbacks_accepted"
CALLBACKS_DUPLICATE = "callbacks_duplicate"
CALLBACKS_REFUSED = "callbacks_rejected"  # its name since refusals were first counted
# Microseconds spent storing callbacks (accepted and duplicate): over their count, the intake's mean latency.
CALLBACK_STORE_US = "callback_store_us"

SCANNED = 100001
CONFIRMED = 100002
CANCELLED = 100003
NEEDS_CODE = 100004
LOGIN_SUCCESS = 104001
MESSAGE = 102000
QR_EXPIRED = 100009
SECONDARY_VERIFICATION = 100012
CORP_SWITCH = 100006
# The disconnect family (upstream-api.md §4.1): the account is no longer usable as it was.
DISCONNECTS = {
    100005: "phone ended the login",
    100007: "login cache invalid",
    100008: "logged in on another device",
    100009: "QR code not scanned in time",
    100012: "secondary verification required",
}
# Recognised and kept as events, nothing more to do here: the rooms and friend-request features build on them
# (upstream-api-more.md §6). 100003 also moves the login back to waiting_scan (below).
RECORDED_TYPES = {
    100003: "scan cancelled on the phone",
    102006: "read on the phone",
    116001: "friend request",
    116002: "contact changed",
    **{code: "room change" for code in range(115001, 115010)},
}
log = logging.getLogger(__name__)

# Types that change a session row; every other type is only logged.
SESSION_TYPES = {SCANNED, CONFIRMED, CANCELLED, NEEDS_CODE, LOGIN_SUCCESS, CORP_SWITCH, *DISCONNECTS}
ROOM_CHANGES = frozenset(range(115001, 115010))
FRIEND_REQUEST = 116001
# Types that change what is kept of the account (its cached rooms, its friend requests) in the transaction that
# stores them: rare, so they skip the group commit (services/rooms/listing.py, services/friends/requests.py).
ACCOUNT_TYPES = ROOM_CHANGES | {FRIEND_REQUEST}


@dataclass(frozen=True)
class Callback:
    uuid: str
    type: int
    payload: dict[str, Any]


def parse_callback(body: Any) -> Callback:
    """Decode the wrapper. `json` may be a JSON string (decoded again) or an object; `type` int or str."""
    if not isinstance(body, dict):
        raise BadInput("body", "callback body must be a JSON object with uuid, json and type")
    raw_type = body.get("type")
    try:
        type_code = int(str(raw_type).strip())
    except (TypeError, ValueError):
        raise BadInput("type", "type must be the numeric event code") from None
    uuid = body.get("uuid")
    uuid = "" if uuid is None else str(uuid).strip()
    # Made storable here, before any batch: see payloads.py.
    return Callback(
        uuid=storable_text(uuid)[:64], type=type_code, payload=storable_payload(_decode_payload(body.get("json")))
    )


def _decode_payload(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        if value.strip() == "":
            return {}
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            return {"text": value}
        return decoded if isinstance(decoded, dict) else {"value": decoded}
    return {} if value is None else {"value": value}


def check_sender(token: str, address: str | None) -> None:
    """Only the upstream knows the token in the URL we registered; refusals are counted (in memory, in the
    database within a second: counters.py), not stored."""
    reason = sender_refusal(token, address)
    if reason:
        count(CALLBACKS_REFUSED)
        log.warning("callback refused from %s: %s", address, reason)
        raise AppError(403, reason, code="callback_refused")


def sender_refusal(token: str, address: str | None) -> str:
    """Why a callback with this token from this address is refused, or "" when it is accepted."""
    if not same_secret(token, callback_token()):
        return "missing or wrong callback token"
    allowed = current_settings().callback_allowed_ips
    if allowed and not _address_allowed(address, allowed):
        return f"callbacks are not accepted from {address}"
    return ""


def _address_allowed(address: str | None, allowed: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in allowed)


def dedup_key(callback: Callback, row: Instance | None = None) -> str:
    """What makes a callback the same one again: a message's own ids, else its whole content.

    The uuid and type are always part of it, so distinct events are never merged; a redelivery, even
    hours later, has the same key. A callback that changes a session (login, scan, disconnect) repeats
    word for word when the same thing happens again (a second login on the same instance), so its key
    also holds a state of the session and when it began: see `_store_alone`.
    """
    payload = callback.payload
    if payload.get("msg_id") or payload.get("server_id"):
        ids = [payload.get(name) for name in ("msg_id", "server_id", "referid", "send_time")]
        basis = ["msg", *ids, payload.get("msgtype", payload.get("msgType"))]
    else:
        basis = ["body", json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)]
    if row is not None:
        changed = row.state_changed_at.isoformat() if row.state_changed_at else ""
        basis += ["state", row.state or INITIALISED, changed]
    text = json.dumps([callback.uuid, callback.type, *basis], ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def store_callback(callback: Callback) -> bool:
    """Record the callback and apply its effect on the session, in one commit.

    Returns False for a redelivery of a callback already taken in (nothing is stored or applied again).
    A callback that changes no session row (messages, receipts, ...: the bulk of the traffic) goes through
    the group commit with those of concurrent requests; the others take a transaction of their own. Either
    way a message (and the other callbacks the inbox keeps) gets its `messages` row in the same commit.
    """
    started = time.perf_counter()
    stored = _store(callback)
    count(CALLBACKS_ACCEPTED if stored else CALLBACKS_DUPLICATE)
    count(CALLBACK_STORE_US, int((time.perf_counter() - started) * 1_000_000))
    return stored


def _store(callback: Callback) -> bool:
    event = event_values(callback.uuid, "callback", str(callback.type), callback.payload)
    # Its inbox row (messages, ban notices among them, and the other kept types), whichever way it is stored.
    message = inbox_row(callback.uuid, callback.type, event["payload"])
    if not changes_session(callback) and callback.type not in ACCOUNT_TYPES:
        rows = {
            CallbackKey.__tablename__: {"key": dedup_key(callback), "created_at": utcnow()},
            Event.__tablename__: event,
        }
        if message is not None:
            rows[Message.__tablename__] = message
        if group_commit().store(rows):
            return True
        # The batch held a key taken before, or a message held already: alone, this callback finds out.
    try:
        return _store_alone(callback, message)
    except IntegrityError:
        db_session().rollback()
        # A copy of the message under another key (another uuid, a referid) committed first: the account holds
        # it now, and this callback is stored without it.
        if message is None or not message_held(db_session(), message):
            raise
        return _store_alone(callback, message)


def _store_alone(callback: Callback, message: dict[str, Any] | None = None) -> bool:
    """One transaction: the dedup keys, the event, the session's change, the inbox row unless the account
    holds that message already (a duplicate delivery, a replay under another uuid).

    A session callback writes two keys in it, both unique: one with the session's state before, one with
    the state it led to. The first makes copies arriving at the same moment apply once: they all read the
    same state and compute the same key, so one transaction commits and the others fail on that key (on
    SQLite and MariaDB alike, whatever the interleaving) and answer as duplicates. The second recognises a
    redelivery later, which finds the session in the state the callback led to. The same callback after the
    session has moved on (logged in again on the same instance) finds neither key, and is applied.
    """
    session = db_session()
    row = find_instance(callback.uuid) if callback.uuid and changes_session(callback) else None
    before = dedup_key(callback, row)
    if session.get(CallbackKey, before) is not None:
        return False
    if row is None and callback.type == LOGIN_SUCCESS and callback.uuid:
        row = Instance(uuid=callback.uuid, state=INITIALISED)
        session.add(row)
    if row is not None:
        _apply(row, callback)
    if callback.type in ACCOUNT_TYPES:
        _apply_to_account(session, callback)
    if message is not None:  # before the dedup keys are added: its check must not flush them
        store_message_alone(session, message, group_commit().forwarding)
    after = dedup_key(callback, row)
    session.add_all([CallbackKey(key=key) for key in dict.fromkeys((before, after))])
    event = add_event(session, callback.uuid, "callback", str(callback.type), callback.payload)
    try:
        session.commit()
    except IntegrityError:  # a copy committed first (its key, or the new instance's uuid)
        session.rollback()
        if session.get(CallbackKey, before) is not None:
            return False
        raise
    group_commit().stored(event.id)
    if row is not None and callback.type == LOGIN_SUCCESS:
        forget_other_instances_of(row.vid or "", row.uuid)
        inbox_accounts().forget(row.uuid)
        # A login (first or again, a reconnect included): what was missed meanwhile is asked for again.
        catch_up_after_login(row.uuid)
    return True


def _apply_to_account(session: Session, callback: Callback) -> None:
    """A room callback makes the account's cached room list stale; 116001 records its applicants."""
    instance = find_instance(callback.uuid) if callback.uuid else None
    if callback.type == FRIEND_REQUEST:
        record_applicants(session, instance, callback.payload)
    elif instance is not None:
        note_room_change(session, account_key(instance))


def changes_session(callback: Callback) -> bool:
    """Whether the callback changes its account's row: login and disconnect codes, and ban or restriction
    notices (a 102000 system message among the messages, 102001/102002)."""
    return callback.type in SESSION_TYPES or notice_of(callback.type, callback.payload) is not None


def _apply(row: Instance, callback: Callback) -> None:
    """What the callback does to its account's row: a ban or restriction notice, else its type's handler."""
    notice = notice_of(callback.type, callback.payload)
    if notice is not None:
        record_notice(row, *notice)
        return
    handler = _HANDLERS.get(callback.type)
    if handler is not None:
        handler(row, callback)


def _cause(callback: Callback) -> str:
    return f"callback {callback.type}"


def _disconnect_reason(row: Instance, callback: Callback) -> str:
    """Marks the row as disconnected by this code; the reason is the upstream's message, else the code's."""
    row.last_event = f"disconnect:{callback.type}"
    return str(callback.payload.get("msg") or DISCONNECTS[callback.type])


def _remember_qrcode_key(row: Instance, payload: dict[str, Any]) -> None:
    key = payload.get("Qrcode_key") or payload.get("qrcode_key") or payload.get("qrcodeKey")
    if key:
        row.qrcode_key = str(key)[:128]


def _on_scanned(row: Instance, callback: Callback) -> None:
    _remember_qrcode_key(row, callback.payload)
    row.last_event = "scanned"
    set_state(row, WAITING_SCAN, _cause(callback), "scanned: confirm on the phone")


def _on_needs_code(row: Instance, callback: Callback) -> None:
    _remember_qrcode_key(row, callback.payload)
    row.last_event = "need-code"
    set_state(row, WAITING_CODE, _cause(callback), "enter the 6-digit code shown on the phone")


def _on_confirmed(row: Instance, callback: Callback) -> None:
    row.last_event = "confirmed"


def _on_cancelled(row: Instance, callback: Callback) -> None:
    row.last_event = "scan-cancelled"
    set_state(row, WAITING_SCAN, _cause(callback), "the scan was cancelled on the phone")


def _on_login_success(row: Instance, callback: Callback) -> None:
    _store_account(row, callback.payload)
    row.qrcode = ""
    row.qrcode_expires_at = None
    row.last_event = "login-success"
    set_state(row, ONLINE, _cause(callback))


def _on_secondary_verification(row: Instance, callback: Callback) -> None:
    reason = _disconnect_reason(row, callback)
    if row.state != NEEDS_PERSON:
        request_secondary_validation(row, _cause(callback), reason)


def _on_qr_expired(row: Instance, callback: Callback) -> None:
    reason = _disconnect_reason(row, callback)
    row.qrcode = ""
    row.qrcode_expires_at = None
    # The instance is gone: a known account waits for a person to ask for a new QR code.
    set_state(row, NEEDS_PERSON if row.vid else OFFLINE, _cause(callback), reason)


def _on_corp_switch(row: Instance, callback: Callback) -> None:
    _switch_corp(row, callback.payload)


def _on_disconnect(row: Instance, callback: Callback) -> None:
    reason = _disconnect_reason(row, callback)
    if callback.type in current_settings().reconnect_on:
        schedule_reconnect(row, _cause(callback), reason)
    else:
        # 100005 (ended on the phone) and 100008 (another device took the account) by default: a silent
        # reconnect would start a tug-of-war that risk control notices (upstream-api-more.md §7).
        hand_over_to_a_person(row, _cause(callback), reason)


# One handler per callback type that changes a row; the disconnect family's own codes (100009, 100012) override
# the family's handler.
_HANDLERS: dict[int, Callable[[Instance, Callback], None]] = {
    **dict.fromkeys(DISCONNECTS, _on_disconnect),
    SCANNED: _on_scanned,
    NEEDS_CODE: _on_needs_code,
    CONFIRMED: _on_confirmed,
    CANCELLED: _on_cancelled,
    LOGIN_SUCCESS: _on_login_success,
    SECONDARY_VERIFICATION: _on_secondary_verification,
    QR_EXPIRED: _on_qr_expired,
    CORP_SWITCH: _on_corp_switch,
}


def _switch_corp(row: Instance, payload: dict[str, Any]) -> None:
    """100006: the account now lives in another corp under another id (`this_vid` -> `vid`); later
    reconnects must use the new one (20-callback-login, 企业切换回调)."""
    new_vid = payload.get("vid")
    if new_vid:
        row.vid = str(new_vid)[:64]
    if payload.get("corp_name") or payload.get("corp_full_name"):
        row.corp_name = str(payload.get("corp_name") or payload.get("corp_full_name"))[:128]
    if payload.get("nickname"):
        row.account_name = str(payload["nickname"])[:128]
    if payload.get("avatar"):
        row.avatar = str(payload["avatar"])[:512]
    row.last_event = "corp-switch"


def _store_account(row: Instance, payload: dict[str, Any]) -> None:
    account = payload.get("user_id") or payload.get("Vid") or payload.get("vid")
    if account:
        row.vid = str(account)[:64]
    name = payload.get("realname") or payload.get("nickname") or payload.get("Nick_name") or ""
    row.account_name = str(name)[:128]
    # 104001 in the docs' sample has "Corp_name": "" and the corp's name in corp_name / Corp_full_name.
    corp = payload.get("corp_name") or payload.get("Corp_name") or payload.get("Corp_full_name") or ""
    row.corp_name = str(corp)[:128]
    row.avatar = str(payload.get("avatar") or payload.get("Icon_url") or "")[:512]
