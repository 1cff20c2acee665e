"""Deadlines of the transient states: no account waits for ever for something that will not come.

- An action in flight (a reconnect, a SecondaryValidation fetch) stays scheduled RECONNECT_DEADLINE_S
  ahead while it runs (monitor/reconnect.py `claim`): if its process dies, it falls due again by itself.
- An account (a vid) `reconnecting` or `offline` with nothing scheduled is stuck: nothing else would
  ever move it (such rows were left by versions that unscheduled a reconnect when they claimed it and then
  died). RECONNECT_DEADLINE_S after it entered that state, its reconnect is scheduled again at once.
- `waiting_scan` / `waiting_code`: the upstream drops an instance whose QR code expired and says so with
  callback 100009. When nothing moved the session on, QR_EXPIRY_GRACE_S after the expiry the monitor does
  what that callback would have done: an account it knows (a vid) waits for a person, who gets one alert
  (nobody may be watching the console any more); a first login nobody finished simply ends (offline).

The lease holder runs this on every check pass. Each row is read again (under a row lock on MySQL and
MariaDB) and checked again before it is moved, so a callback landing at that moment is not overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session
from wxwork_demo.models import Instance, iso_utc, utcnow
from wxwork_demo.services.instances.state import (
    NEEDS_PERSON,
    OFFLINE,
    RECONNECTING,
    WAITING_CODE,
    WAITING_SCAN,
    set_state,
)
from wxwork_demo.services.monitor.alerts import alert_needs_person
from wxwork_demo.services.monitor.reconnect import RECONNECT

QR_EXPIRY_GRACE_S = 30.0
# A QR code whose answer gave no lifetime is taken to live this long (the upstream's live 2-5 minutes).
QR_LIFETIME_UNKNOWN_S = 300.0
WAITS = (WAITING_SCAN, WAITING_CODE)


def act_on_overdue(now: datetime | None = None) -> int:
    """Restart interrupted reconnects and end expired scan and code waits. Returns how many moved."""
    now = now or utcnow()
    return _restart_interrupted_reconnects(now) + _end_expired_waits(now)


def _restart_interrupted_reconnects(now: datetime) -> int:
    deadline_s = current_settings().reconnect_deadline_s
    entered_before = now - timedelta(seconds=deadline_s)
    overdue = and_(
        Instance.state.in_((RECONNECTING, OFFLINE)),
        Instance.vid != "",
        Instance.next_action == "",
        or_(Instance.state_changed_at.is_(None), Instance.state_changed_at < entered_before),
    )

    def restart(row: Instance) -> None:
        since = iso_utc(row.state_changed_at) or "earlier"
        if row.state == RECONNECTING:
            reason = f"the reconnect begun {since} did not finish within {deadline_s:g} s: retrying"
        else:
            reason = f"offline since {since} with no reconnect scheduled: reconnecting"
        set_state(row, OFFLINE, "deadline", reason, restart=True)
        row.next_action, row.next_action_at = RECONNECT, now

    return _move_each(overdue, restart)


def _end_expired_waits(now: datetime) -> int:
    expired_before = now - timedelta(seconds=QR_EXPIRY_GRACE_S)
    shown_before = expired_before - timedelta(seconds=QR_LIFETIME_UNKNOWN_S)
    overdue = and_(
        Instance.state.in_(WAITS),
        or_(
            Instance.qrcode_expires_at < expired_before,
            and_(
                Instance.qrcode_expires_at.is_(None),
                or_(Instance.state_changed_at.is_(None), Instance.state_changed_at < shown_before),
            ),
        ),
    )
    alerts: list[tuple[int, str]] = []

    def end_wait(row: Instance) -> None:
        expiry = iso_utc(row.qrcode_expires_at) or "lifetime unknown"
        reason = f"the QR code expired ({expiry}) before the login finished and its instance is gone"
        row.qrcode, row.qrcode_key, row.qrcode_expires_at = "", "", None
        if row.vid:
            reason = f"{reason}: reconnect it from the console"
            set_state(row, NEEDS_PERSON, "deadline", reason, restart=True)
            alerts.append((row.id, reason))
        else:
            set_state(row, OFFLINE, "deadline", reason, restart=True)

    moved = _move_each(overdue, end_wait)
    for row_id, reason in alerts:
        alert_needs_person(row_id, reason)
    return moved


def _move_each(overdue: ColumnElement[bool], move: Callable[[Instance], None]) -> int:
    """Apply `move` to each row matching `overdue`, one transaction per row, re-checked under its lock."""
    session = db_session()
    moved = 0
    for row_id in list(session.scalars(select(Instance.id).where(overdue))):
        query = (
            select(Instance)
            .where(Instance.id == row_id, overdue)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = session.scalars(query).first()
        if row is not None:
            move(row)
            moved += 1
        session.commit()
    return moved
