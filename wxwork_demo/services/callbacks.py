"""The webhook intake: decode the upstream's `{uuid, json, type}` and act on the type code."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, Engine, delete
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from wxwork_demo.access import same_secret
from wxwork_demo.bulk_insert import BulkInsert, insert_and_commit
from wxwork_demo.db import db_session, get_db
from wxwork_demo.errors import AppError, BadInput
from wxwork_demo.models import CallbackKey, Event, LoginSession, utcnow
from wxwork_demo.services.counters import increment
from wxwork_demo.services.events import EVENT_COLUMNS, PRUNE_EVERY, add_event, event_values, prune, prune_due
from wxwork_demo.services.reconnect import request_secondary_validation, schedule_reconnect
from wxwork_demo.services.secrets import callback_token
from wxwork_demo.services.session_state import (
    INITIALISED,
    NEEDS_PERSON,
    OFFLINE,
    ONLINE,
    WAITING_CODE,
    WAITING_SCAN,
    set_state,
)
from wxwork_demo.services.sessions import find_session, forget_other_sessions_of

SCANNED = 100001
CONFIRMED = 100002
CANCELLED = 100003
NEEDS_CODE = 100004
LOGIN_SUCCESS = 104001
MESSAGE = 102000
QR_EXPIRED = 100009
SECONDARY_VERIFICATION = 100012
# The disconnect family (upstream-api.md §4.1): the account is no longer usable as it was.
DISCONNECTS = {
    100005: "phone ended the login",
    100007: "login cache invalid",
    100008: "logged in on another device",
    100009: "QR code not scanned in time",
    100012: "secondary verification required",
}
log = logging.getLogger(__name__)

# Types that change a session row; every other type is only logged.
SESSION_TYPES = {SCANNED, CONFIRMED, CANCELLED, NEEDS_CODE, LOGIN_SUCCESS, *DISCONNECTS}


@dataclass(frozen=True)
class Callback:
    uuid: str
    type: int
    payload: dict


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
    return Callback(uuid=uuid[:64], type=type_code, payload=_decode_payload(body.get("json")))


def _decode_payload(value: Any) -> dict:
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
    """Only the upstream knows the token in the URL we registered; refusals are counted, not stored."""
    reason = sender_refusal(token, address)
    if reason:
        increment("callbacks_rejected")
        log.warning("callback refused from %s: %s", address, reason)
        raise AppError(403, reason)


def sender_refusal(token: str, address: str | None) -> str:
    """Why a callback with this token from this address is refused, or "" when it is accepted."""
    if not same_secret(token, callback_token()):
        return "missing or wrong callback token"
    allowed = current_app.config.get("CALLBACK_ALLOWED_IPS") or ()
    if allowed and not _address_allowed(address, allowed):
        return f"callbacks are not accepted from {address}"
    return ""


def _address_allowed(address: str | None, allowed) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in allowed)


def dedup_key(callback: Callback, row: LoginSession | None = None) -> str:
    """What makes a callback the same one again: a message's own ids, else its whole content.

    The uuid and type are always part of it, so distinct events are never merged; a redelivery, even
    hours later, has the same key. A callback that changes a session (login, scan, disconnect) repeats
    word for word when the same thing happens again (a second login on the same instance), so its key
    also holds the session's state and when it began: see `_store_alone`.
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
    the group commit with those of concurrent requests; the others take a transaction of their own.
    """
    if callback.type not in SESSION_TYPES:
        event = event_values(callback.uuid, "callback", str(callback.type), callback.payload)
        if group_commit().store(dedup_key(callback), event):
            return True
        # The batch held a key taken before: alone, this callback finds out whether it was the one.
    return _store_alone(callback)


def _store_alone(callback: Callback) -> bool:
    """One transaction: the dedup key, the event, the session's change.

    For a session callback the key is taken *after* applying it, with the state it led to. A redelivery
    finds the session still in that state and so computes the same key: it is recognised. The same
    callback after the session has moved on (logged in again on the same instance) computes another key,
    and is applied.
    """
    session = db_session()
    row = find_session(callback.uuid) if callback.uuid and callback.type in SESSION_TYPES else None
    if row is not None and session.get(CallbackKey, dedup_key(callback, row)) is not None:
        return False
    if row is None and callback.type == LOGIN_SUCCESS and callback.uuid:
        row = LoginSession(uuid=callback.uuid, state=INITIALISED)
        session.add(row)
    if row is not None:
        _apply(row, callback)
    key = dedup_key(callback, row)
    session.add(CallbackKey(key=key))
    event = add_event(session, callback.uuid, "callback", str(callback.type), callback.payload)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if session.get(CallbackKey, key) is not None:
            return False
        raise
    group_commit().stored(session, event.id)
    if row is not None and callback.type == LOGIN_SUCCESS:
        forget_other_sessions_of(row.vid or "", row.uuid)
    return True


# ----- group commit ---------------------------------------------------------------------------------

STORED = "stored"
ALONE = "alone"
GROUP_COMMIT_KEY = "wxwork_callback_group_commit"
# Dedup keys older than CALLBACK_DEDUP_HOURS are deleted at most this often (per process).
FORGET_KEYS_EVERY_S = 60.0


@dataclass(frozen=True)
class _BatchInserts:
    keys: BulkInsert
    events: BulkInsert

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> _BatchInserts:
        return cls(
            keys=BulkInsert(CallbackKey.__table__, ("key", "created_at"), dialect),
            events=BulkInsert(Event.__table__, EVENT_COLUMNS, dialect),
        )


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Queued:
    key: str
    event: dict
    outcome: str | BaseException | None = None
    # Held until the request may go on: its outcome is known, or it is to write the next batch.
    wake: Any = field(default_factory=_held_lock)


class GroupCommit:
    """One transaction for the plain callbacks of concurrent requests: one commit (one disk flush) for all.

    A request writes its callback at once when fewer than WRITERS batches are being written: its own and
    whatever is queued (at most MAX_BATCH), with one multi-row INSERT for the dedup keys and one for the
    events, then the commit. Otherwise it queues and waits. When a batch is committed its writer wakes each
    request of the batch and hands the writing on to the first request still queued, which takes what is
    queued by then. No thread and no timer of its own: a lone callback is a batch of one, written at once,
    and each request answers only after the commit that holds its callback.

    A batch that hits a key taken before (a redelivery) stores nothing, and each of its requests stores its
    callback alone, which tells the redelivery from the others. Any other database error is the answer of
    every request in the batch (503), so the upstream sends them all again.

    When a batch's event ids cross a multiple of PRUNE_EVERY, its writer trims `events` to MAX_EVENTS rows
    once the batch is answered, before it hands over: the table holds at most MAX_EVENTS + PRUNE_EVERY rows
    plus the batches in flight, whatever the number of processes (on SQLite, whose driver tells no ids,
    each process trims after PRUNE_EVERY of its callbacks). Dedup keys past CALLBACK_DEDUP_HOURS are
    deleted at most once a minute.
    """

    MAX_BATCH = 64
    # Batches written at once. One: the callbacks that arrive while a batch commits make the next batch, as
    # large as it gets; two writers halved the batches and cost more CPU per callback than they saved.
    WRITERS = 1

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._inserts = _BatchInserts.for_dialect(engine.dialect)
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._writers = 0
        self._since_prune = 0
        self._keys_forgotten_at: float | None = None

    def store(self, key: str, event: dict) -> bool:
        """True once committed; False when the callback must be stored alone. Raises a database error."""
        item = _Queued(key, event)
        with self._lock:
            writes = self._writers < self.WRITERS
            if writes:
                self._writers += 1
            else:
                self._queue.append(item)
        if not writes:
            item.wake.acquire()  # released with an outcome, or to write the next batch
        if item.outcome is None:  # no outcome yet: this request writes a batch, its own callback first
            self._write(item)
        if isinstance(item.outcome, BaseException):
            raise item.outcome
        return item.outcome == STORED

    def stored(self, session: Session, event_id: int | None) -> None:
        """Note a callback stored outside a batch (its event's id); tidy up when due."""
        with self._lock:
            due = self._due(event_id, 1)
        if due:
            self._tidy(session)

    def _write(self, own: _Queued) -> None:
        """Write `own` and what is queued and give each request of the batch its outcome; trim `events`
        when due, before handing over (so no batch commits while it trims); then hand the writing to the
        next request in the queue, or stop writing when there is none."""
        with self._lock:
            batch = [own, *self._queue[: self.MAX_BATCH - 1]]
            del self._queue[: len(batch) - 1]
        outcome: str | BaseException = RuntimeError("the callback batch was interrupted")
        first_id = None
        try:
            outcome, first_id = _insert_batch(self._engine, self._inserts, batch)
        except Exception as exc:  # the answer of every request in the batch
            outcome = exc
        finally:
            with self._lock:
                for item in batch:
                    item.outcome = outcome
                due = outcome == STORED and self._due(first_id, len(batch))
            for item in batch[1:]:
                item.wake.release()
            try:
                if due:
                    with self._engine.connect() as connection:
                        self._tidy(connection)
            finally:
                with self._lock:
                    following = self._queue.pop(0) if self._queue else None
                    if following is None:
                        self._writers -= 1
                if following is not None:
                    following.wake.release()  # no outcome: it writes the next batch

    def _due(self, first_id: int | None, count: int) -> bool:
        """Trim when the new event ids cross a multiple of PRUNE_EVERY (once per PRUNE_EVERY rows, whatever
        the number of processes); when the driver tells no ids (sqlite3), after PRUNE_EVERY of this
        process's callbacks."""
        if first_id:
            return prune_due(first_id, count)
        self._since_prune += count
        if self._since_prune < PRUNE_EVERY:
            return False
        self._since_prune = 0
        return True

    def _tidy(self, target: Session | Connection) -> None:
        """Trim `events`; forget expired dedup keys when a minute has passed. The callbacks are stored
        already: a failure here is logged, not answered."""
        now = time.monotonic()
        forget = self._keys_forgotten_at is None or now - self._keys_forgotten_at >= FORGET_KEYS_EVERY_S
        if forget:
            self._keys_forgotten_at = now
        try:
            prune(target)
            if forget:
                _forget_old_keys(target)
        except SQLAlchemyError:
            log.warning("trimming the events table failed; the next batch tries again", exc_info=True)
            _rollback_quietly(target)


def _insert_batch(engine: Engine, inserts: _BatchInserts, batch: list[_Queued]) -> tuple[str, int | None]:
    """Two multi-row INSERTs and a commit on a connection of the pool (no ORM session: nothing to track).

    Returns the outcome and the id of the batch's first event when the driver tells it.
    """
    now = utcnow()
    keys = [{"key": item.key, "created_at": now} for item in batch]
    with engine.connect() as connection:
        try:
            _, first_event_id = insert_and_commit(
                connection, [(inserts.keys, keys), (inserts.events, [item.event for item in batch])]
            )
        except IntegrityError:
            return ALONE, None
    return STORED, first_event_id


def _rollback_quietly(target: Session | Connection) -> None:
    try:
        target.rollback()
    except Exception:  # the connection may be what failed
        log.debug("rollback failed", exc_info=True)


def group_commit() -> GroupCommit:
    """This app's group commit (one per app and process, made on first use: gunicorn forks before)."""
    extensions = current_app.extensions
    found = extensions.get(GROUP_COMMIT_KEY)
    if found is None:
        found = extensions.setdefault(GROUP_COMMIT_KEY, GroupCommit(get_db().engine))
    return found


def _forget_old_keys(target: Session | Connection) -> None:
    cutoff = utcnow() - timedelta(hours=current_app.config["CALLBACK_DEDUP_HOURS"])
    target.execute(delete(CallbackKey.__table__).where(CallbackKey.__table__.c.created_at < cutoff))
    target.commit()


def _apply(row: LoginSession, callback: Callback) -> None:
    payload = callback.payload
    code = callback.type
    cause = f"callback {code}"
    if code in (SCANNED, NEEDS_CODE):
        key = payload.get("Qrcode_key") or payload.get("qrcode_key") or payload.get("qrcodeKey")
        if key:
            row.qrcode_key = str(key)[:128]
        row.last_event = "need-code" if code == NEEDS_CODE else "scanned"
        if code == NEEDS_CODE:
            set_state(row, WAITING_CODE, cause, "enter the 6-digit code shown on the phone")
        else:
            set_state(row, WAITING_SCAN, cause, "scanned: confirm on the phone")
    elif code == CONFIRMED:
        row.last_event = "confirmed"
    elif code == CANCELLED:
        row.last_event = "scan-cancelled"
        set_state(row, WAITING_SCAN, cause, "the scan was cancelled on the phone")
    elif code == LOGIN_SUCCESS:
        _store_account(row, payload)
        row.qrcode = ""
        row.qrcode_expires_at = None
        row.last_event = "login-success"
        set_state(row, ONLINE, cause)
    elif code == SECONDARY_VERIFICATION:
        row.last_event = f"disconnect:{code}"
        reason = str(payload.get("msg") or DISCONNECTS[code])
        if row.state != NEEDS_PERSON:
            request_secondary_validation(row, cause, reason)
    elif code == QR_EXPIRED:
        row.last_event = f"disconnect:{code}"
        row.qrcode = ""
        row.qrcode_expires_at = None
        reason = str(payload.get("msg") or DISCONNECTS[code])
        # The instance is gone: a known account waits for a person to ask for a new QR code.
        set_state(row, NEEDS_PERSON if row.vid else OFFLINE, cause, reason)
    elif code in DISCONNECTS:
        row.last_event = f"disconnect:{code}"
        schedule_reconnect(row, cause, str(payload.get("msg") or DISCONNECTS[code]))


def _store_account(row: LoginSession, payload: dict) -> None:
    account = payload.get("user_id") or payload.get("Vid") or payload.get("vid")
    if account:
        row.vid = str(account)[:64]
    name = payload.get("realname") or payload.get("nickname") or payload.get("Nick_name") or ""
    row.account_name = str(name)[:128]
    row.corp_name = str(payload.get("corp_name") or payload.get("Corp_name") or "")[:128]
    row.avatar = str(payload.get("avatar") or payload.get("Icon_url") or "")[:512]
