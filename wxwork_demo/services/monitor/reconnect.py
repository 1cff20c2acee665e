"""The reconnect policy: how a dropped account comes back without tripping risk control.

- Always the saved vid first: init(vid) → SetCallbackUrl → automaticLogin.
- Debounced: a burst of disconnect signals schedules one reconnect (`next_action`), a little later.
- Backoff with jitter between attempts. An upstream that cannot answer is retried for ever (capped
  delay); an account the upstream refuses is retried RECONNECT_MAX_ATTEMPTS times, then a QR code is
  fetched, the session waits for a person, and one alert is sent.
- Nothing here starts a login while a person is scanning or typing a code.
- Claims are atomic UPDATEs, so two processes never work on the same session at once. A claimed action
  stays scheduled, RECONNECT_DEADLINE_S ahead: if the process running it dies (or the lease holder is
  killed between init and automaticLogin), the action falls due again and the next lease holder runs it.
- An instance the account leaves (a reconnect moved it to a new one) is closed with CloseConnent, so the
  upstream keeps one instance per account, not one per attempt.
- A stored proxy that does not open stops the reconnect (needs_person, one alert): going without the
  proxy would show the account to risk control from a new address.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session, rows_matched
from wxwork_demo.models import Instance, utcnow
from wxwork_demo.services.events import add_event
from wxwork_demo.services.inbox.catch_up import catch_up
from wxwork_demo.services.instances.proxy_vault import ProxyUnreadable, unseal
from wxwork_demo.services.instances.state import NEEDS_PERSON, OFFLINE, ONLINE, PERSON_BUSY, RECONNECTING, set_state
from wxwork_demo.services.intake.counters import count
from wxwork_demo.services.login.callback_url import registered_callback_url
from wxwork_demo.services.monitor import notices, secondary  # secondary calls back into this module (run time)
from wxwork_demo.services.monitor.alerts import alert_needs_person
from wxwork_demo.services.monitor.lease import note_reconnect
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import UpstreamError, UpstreamRefused, init_request, parse_qrcode

log = logging.getLogger(__name__)

RECONNECT = "reconnect"
RECONNECTS = "monitor_reconnects"  # the counters of attempts (/metrics): monitor_reconnects:<online|failed>
# The old demo's stage of every failed call of a reconnect (local-api.md, "Event stages").
RECONNECT_ERROR = "reconnect_error"
SECONDARY_VALIDATION = "secondary_validation"
ALERT_PERSON = "alert_person"


def backoff_delay(attempt: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random (never zero)."""
    step = min(cap_s, base_s * 2.0 ** max(attempt - 1, 0))
    return step / 2 + rand() * step / 2


def schedule_reconnect(row: Instance, cause: str, reason: str) -> bool:
    """The account dropped: mark it offline and schedule one reconnect (not committed).

    Returns False when one is already scheduled or running, or a person is needed: that is the debounce.
    """
    if not row.vid:
        set_state(row, OFFLINE, cause, reason)
        return False
    if row.state in (RECONNECTING, NEEDS_PERSON) or row.next_action == RECONNECT:
        return False
    set_state(row, OFFLINE, cause, reason)
    row.next_action = RECONNECT
    row.next_action_at = utcnow() + timedelta(seconds=current_settings().reconnect_debounce_s)
    return True


def request_secondary_validation(row: Instance, cause: str, reason: str) -> None:
    """100012: a person must scan a SecondaryValidation QR; the monitor fetches it (not committed)."""
    set_state(row, NEEDS_PERSON, cause, reason)
    row.next_action = SECONDARY_VALIDATION
    row.next_action_at = utcnow()


def hand_over_to_a_person(row: Instance, cause: str, reason: str) -> None:
    """The account waits for a person (no automatic login); the monitor sends one alert (not committed)."""
    set_state(row, NEEDS_PERSON, cause, reason)
    row.next_action = ALERT_PERSON
    row.next_action_at = utcnow()


def due_actions(limit: int = 200) -> list[tuple[int, str]]:
    query = (
        select(Instance.id, Instance.next_action)
        .where(Instance.next_action != "", Instance.next_action_at <= utcnow())
        .order_by(Instance.next_action_at)
        .limit(limit)
    )
    return [(row.id, row.next_action) for row in db_session().execute(query)]


def in_flight_deadline() -> datetime:
    """When an action started now is taken for interrupted, and falls due again."""
    return utcnow() + timedelta(seconds=current_settings().reconnect_deadline_s)


def claim(session_id: int, action: str) -> datetime | None:
    """Take a due action for this process: the time it is held until, or None if another process (or a
    person) got there first.

    The action is not removed but put off until that deadline, so that it falls due again if this
    process dies while running it.
    """
    session = db_session()
    held_until = in_flight_deadline()
    result = session.execute(
        update(Instance)
        .where(
            Instance.id == session_id,
            Instance.next_action == action,
            Instance.next_action_at <= utcnow(),
        )
        .values(next_action_at=held_until)
    )
    session.commit()
    return held_until if rows_matched(result) == 1 else None


def run_action(session_id: int, action: str, held_until: datetime) -> None:
    """Run a claimed action; then unschedule it, unless it scheduled what comes next itself."""
    try:
        if action == RECONNECT:
            reconnect(session_id)
        elif action == SECONDARY_VALIDATION:
            fetch_secondary_validation(session_id)
        elif action == secondary.SECONDARY_CHECK:
            secondary.check_secondary(session_id)
        elif action == notices.EXPLAIN_NOTICE:
            notices.explain_and_alert(session_id)
        elif action == ALERT_PERSON:
            row = db_session().get(Instance, session_id)
            if row is not None and row.state == NEEDS_PERSON:
                alert_needs_person(row.id, row.state_reason or "a person is needed")
    finally:
        session = db_session()
        session.rollback()  # whatever the action left unfinished
        session.execute(
            update(Instance)
            .where(
                Instance.id == session_id,
                Instance.next_action == action,
                Instance.next_action_at == held_until,
            )
            .values(next_action="", next_action_at=None)
        )
        session.commit()


def reconnect(session_id: int) -> bool:
    """One attempt: init(vid) → SetCallbackUrl → automaticLogin. True when the account is back online.

    The instance the account leaves is closed (CloseConnent) as soon as the row has moved to the new one.
    """
    session = db_session()
    row = session.get(Instance, session_id)
    if row is None or not row.vid or row.state in PERSON_BUSY or row.state == ONLINE:
        return False
    try:
        proxy = unseal(row.proxy_sealed)  # through the proxy it logged in with, or not at all
    except ProxyUnreadable as exc:
        log.error("account %s cannot reconnect: %s", row.vid, exc)
        reason = f"cannot reconnect: {exc}; log in again through the proxy"
        _wait_for_a_person(row, "proxy-unreadable", reason, fetch_qrcode=False)
        return False
    attempt = row.reconnect_attempts + 1
    set_state(row, RECONNECTING, "monitor", f"attempt {attempt}", attempt=attempt)
    if row.next_action != RECONNECT:  # a person asked (reconnect_now): not claimed, but in flight all the same
        row.next_action, row.next_action_at = RECONNECT, in_flight_deadline()
    session.commit()
    api = client()
    try:
        fields = {**proxy, "vid": _as_id(row.vid)}
        reply = traced("reconnect_init", row.uuid, api.init, init_request(fields), failed_stage=RECONNECT_ERROR)
        new_uuid = str(reply.data.get("uuid") or "") if isinstance(reply.data, dict) else ""
        if not new_uuid:
            raise UpstreamRefused("init", -1, "init returned no uuid", reply.envelope)
        left = _move_to_uuid(row, new_uuid)
        if left:
            close_instance(left)
        traced(
            "reconnect_set_callback",
            row.uuid,
            api.set_callback_url,
            row.uuid,
            registered_callback_url(),
            failed_stage=RECONNECT_ERROR,
        )
        row.callback_registered_at = utcnow()
        session.commit()  # each step keeps what it did: the next one may fail, or this process die
        traced("reconnect_automatic_login", row.uuid, api.automatic_login, row.uuid, failed_stage=RECONNECT_ERROR)
    except UpstreamError as exc:
        _attempt_failed(row, attempt, exc)
        return False
    finally:
        note_reconnect()
    set_state(row, ONLINE, "reconnect", attempt=attempt)
    session.commit()
    count(f"{RECONNECTS}:online")
    # After SetCallbackUrl on the new instance: SyncAllData from the account's last server_id.
    catch_up(row.uuid)
    return True


def _attempt_failed(row: Instance, attempt: int, failure: UpstreamError) -> None:
    count(f"{RECONNECTS}:failed")
    settings = current_settings()
    session = db_session()
    refused = isinstance(failure, UpstreamRefused)
    if refused and attempt >= settings.reconnect_max_attempts:
        reason = f"automatic login failed {attempt} times ({failure.message})"
        _wait_for_a_person(row, "reconnect-gave-up", reason, attempts=attempt)
        return
    row.reconnect_attempts = attempt
    delay = backoff_delay(attempt, settings.reconnect_backoff_s, settings.reconnect_backoff_max_s)
    set_state(row, OFFLINE, "reconnect-failed", failure.message, attempt=attempt, retryInS=round(delay, 1))
    row.next_action = RECONNECT
    row.next_action_at = utcnow() + timedelta(seconds=delay)
    session.commit()


def _wait_for_a_person(
    row: Instance, cause: str, reason: str, fetch_qrcode: bool = True, attempts: int | None = None
) -> None:
    """Hand over to a person, with one alert: nothing is scheduled any more, and (unless told otherwise)
    a QR code is fetched on the instance for them to scan. The row changes after the QR code's call, in one
    commit (`attempts`: the failed attempts that led here, when counted)."""
    session = db_session()
    if fetch_qrcode:
        try:
            reply = traced(
                "reconnect_get_qrcode", row.uuid, client().get_qrcode, row.uuid, failed_stage=RECONNECT_ERROR
            )
        except UpstreamError as exc:
            reason = f"{reason}; QR code unavailable ({exc.message})"
        else:
            qr = parse_qrcode(reply.data)
            row.qrcode, row.qrcode_key = qr.image, qr.key
            row.qrcode_expires_at = utcnow() + timedelta(seconds=qr.ttl) if qr.ttl > 0 else None
            reason = f"{reason}: scan the QR code"
    if attempts is not None:
        row.reconnect_attempts = attempts
    set_state(row, NEEDS_PERSON, cause, reason)
    row.next_action, row.next_action_at = "", None
    session.commit()
    alert_needs_person(row.id, reason)


def fetch_secondary_validation(session_id: int) -> None:
    """Get the SecondaryValidation QR for a person to scan (again, when the last one expired), then alert once."""
    session = db_session()
    row = session.get(Instance, session_id)
    if row is None or row.state != NEEDS_PERSON:
        return
    try:
        reply = traced("secondary_validation", row.uuid, client().secondary_validation, row.uuid)
    except UpstreamError as exc:
        row.next_action = SECONDARY_VALIDATION
        row.next_action_at = utcnow() + timedelta(seconds=current_settings().reconnect_backoff_s)
        row.last_error = exc.message
        session.commit()
        return
    qr = parse_qrcode(reply.data)
    row.qrcode, row.qrcode_key = qr.image, qr.key
    row.qrcode_expires_at = utcnow() + timedelta(seconds=qr.ttl) if qr.ttl > 0 else None
    secondary.schedule_check(row)  # no callback is promised once the person confirms: look by ourselves
    session.commit()
    alert_needs_person(row.id, row.state_reason or "secondary verification required: scan the QR code")


def _move_to_uuid(row: Instance, new_uuid: str) -> str:
    """The account's row follows it to its new instance (one row per account). Returns the uuid it left
    ("" when init gave the same instance back)."""
    session = db_session()
    left = ""
    if new_uuid != row.uuid:
        stale = session.scalars(select(Instance).where(Instance.uuid == new_uuid)).first()
        if stale is not None and stale.id != row.id:
            session.delete(stale)
            session.flush()
        add_event(session, row.uuid, "reconnect", "new-instance", {"from": row.uuid, "to": new_uuid, "vid": row.vid})
        left, row.uuid = row.uuid, new_uuid
    session.commit()
    return left


def close_instance(uuid: str) -> None:
    """CloseConnent an instance no row uses any more, so the upstream does not keep it for ever.

    A failure is recorded and otherwise ignored: an instance the upstream already dropped answers
    "实例不存在", and one that cannot be closed now must not hold up the account's way back.
    """
    with contextlib.suppress(UpstreamError):
        traced("reconnect_close", uuid, client().close_connection, uuid, failed_stage=RECONNECT_ERROR)


def _as_id(vid: str) -> int | str:
    return int(vid) if vid.isdigit() else vid


def reconnect_now(session_id: int) -> bool:
    """A person asks to bring an account back now (e.g. after its QR expired and the instance is gone).

    A person is present, so a refused automatic login goes straight to a fresh QR code on the new instance.
    """
    session = db_session()
    row = session.get(Instance, session_id)
    if row is None or not row.vid:
        return False
    row.next_action, row.next_action_at = "", None
    row.reconnect_attempts = max(current_settings().reconnect_max_attempts - 1, 0)
    row.alerted_at = utcnow()  # the person asking is already here: no alert for this episode
    set_state(row, OFFLINE, "person", "reconnect requested in the console")
    session.commit()
    return reconnect(session_id)
