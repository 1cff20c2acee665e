"""One monitor owner across every process that shares the database.

Each process that runs a scheduler competes for a single lease row with an atomic conditional UPDATE
(works the same on MySQL and SQLite). The holder renews it every tick; if the holder dies, the lease
expires and another process takes over. A check pass also needs the previous pass to be at least most
of an interval old, so a change of owner never doubles a pass.
"""

from __future__ import annotations

import os
import socket
import uuid as uuidlib
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError

from wxwork_demo.db import db_session, rows_matched
from wxwork_demo.models import MonitorLease, utcnow

LEASE_NAME = "monitor"
# The forwarding delivery worker's own lease (services/forwarding/worker.py): one process of those running a
# scheduler delivers, whatever the monitor's switch says. Its row is always enabled.
FORWARDER_LEASE = "forwarder"
_identity: tuple[int, str] | None = None


def process_identity() -> str:
    """host:pid:random, computed again after a fork (gunicorn workers get their own)."""
    global _identity
    if _identity is None or _identity[0] != os.getpid():
        _identity = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{uuidlib.uuid4().hex[:8]}")
    return _identity[1]


def lease_row() -> MonitorLease | None:
    return db_session().get(MonitorLease, LEASE_NAME)


def set_enabled(enabled: bool) -> None:
    """Turn the monitor on or off for every process (the row is created on first use)."""
    session = db_session()
    result = session.execute(update(MonitorLease).where(MonitorLease.name == LEASE_NAME).values(enabled=enabled))
    if rows_matched(result) == 0:
        session.add(MonitorLease(name=LEASE_NAME, enabled=enabled, owner=""))
        try:
            session.commit()
        except IntegrityError:  # another process created it first
            session.rollback()
            session.execute(update(MonitorLease).where(MonitorLease.name == LEASE_NAME).values(enabled=enabled))
    session.commit()


def ensure_switch(default_enabled: bool, name: str = LEASE_NAME) -> None:
    """Create the lease row with `default_enabled` if it does not exist; an existing switch is kept."""
    session = db_session()
    if session.get(MonitorLease, name) is not None:
        return
    session.add(MonitorLease(name=name, enabled=default_enabled, owner=""))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def _update_lease(*conditions: ColumnElement[bool], name: str = LEASE_NAME, **values: object) -> bool:
    """One conditional UPDATE of the lease row `name`, committed: True when the row matched `conditions`."""
    session = db_session()
    result = session.execute(update(MonitorLease).where(MonitorLease.name == name, *conditions).values(**values))
    session.commit()
    return rows_matched(result) == 1


def hold(ttl_s: float, name: str = LEASE_NAME) -> bool:
    """Take or renew the lease `name` for this process. True when this process is the owner."""
    now = utcnow()
    me = process_identity()
    return _update_lease(
        MonitorLease.enabled.is_(True),
        (MonitorLease.owner == me) | (MonitorLease.owner == "") | (MonitorLease.expires_at < now),
        name=name,
        owner=me,
        expires_at=now + timedelta(seconds=ttl_s),
    )


def start_pass(interval_s: float) -> bool:
    """Claim the next check pass: only the owner, and only once per interval."""
    now = utcnow()
    return _update_lease(
        MonitorLease.enabled.is_(True),
        MonitorLease.owner == process_identity(),
        MonitorLease.expires_at >= now,
        (MonitorLease.pass_started_at.is_(None))
        | (MonitorLease.pass_started_at <= now - timedelta(seconds=interval_s * 0.8)),
        pass_started_at=now,
    )


def finish_pass() -> None:
    _update_lease(pass_finished_at=utcnow())


def note_reconnect() -> None:
    _update_lease(last_reconnect_at=utcnow())


def release(name: str = LEASE_NAME) -> None:
    """Give the lease up at shutdown so another process need not wait for it to expire."""
    _update_lease(MonitorLease.owner == process_identity(), name=name, owner="", expires_at=None)


def current_owner(now: datetime | None = None) -> str:
    row = db_session().scalars(select(MonitorLease).where(MonitorLease.name == LEASE_NAME)).first()
    now = now or utcnow()
    if row is None or not row.owner or row.expires_at is None or row.expires_at < now:
        return ""
    return row.owner
