"""Named counters in the database (e.g. refused callbacks), the same for every worker.

`count` only adds in memory (a lock and an addition: a flood of refused callbacks costs no database work);
a chore adds what was counted to the database at most FLUSH_EVERY_S later, in one transaction, and at a
worker's exit (gunicorn.conf.py). A flush that fails puts its counts back and is tried again.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wxwork_demo.app_state import app_owned
from wxwork_demo.chores import Chore, chore
from wxwork_demo.db import db_session
from wxwork_demo.models import Counter

FLUSH_EVERY_S = 1.0
PENDING_KEY = "wxwork_pending_counts"


class PendingCounts:
    """What this process counted and has not written yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Tally[str] = Tally()

    def add(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def take(self) -> dict[str, int]:
        with self._lock:
            taken, self._counts = dict(self._counts), Tally()
        return taken

    def put_back(self, counts: dict[str, int]) -> None:
        with self._lock:
            self._counts.update(counts)


def count(name: str, by: int = 1) -> None:
    """Add `by` to the counter `name`: in memory now, in the database within FLUSH_EVERY_S."""
    _pending().add(name, by)
    counts_flusher().request()


def counts_flusher() -> Chore:
    return chore("flush-counters", flush_counts, delay=FLUSH_EVERY_S)


def flush_counts() -> None:
    """Write what this process counted: one UPDATE per counter (in name order: no deadlock between
    workers), one commit."""
    counts = _pending().take()
    if not counts:
        return
    session = db_session()
    try:
        _create_missing(session, counts)
        for name, by in sorted(counts.items()):
            session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + by))
        session.commit()
    except Exception:
        session.rollback()
        _pending().put_back(counts)
        counts_flusher().request()
        raise


def _create_missing(session: Session, counts: dict[str, int]) -> None:
    existing = set(session.scalars(select(Counter.name).where(Counter.name.in_(counts))))
    for name in sorted(set(counts) - existing):
        session.add(Counter(name=name, value=0))
        try:
            session.commit()
        except IntegrityError:  # created by another worker meanwhile
            session.rollback()


def _pending() -> PendingCounts:
    return app_owned(PENDING_KEY, PendingCounts, PendingCounts)


def all_counters() -> dict[str, int]:
    return {row.name: row.value for row in db_session().scalars(select(Counter))}
