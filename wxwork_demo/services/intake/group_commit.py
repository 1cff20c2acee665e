"""Group commit: the plain callbacks of concurrent requests written in one transaction, one disk flush.

Used by the webhook (services/intake/callbacks.py) for every callback that changes no session row: the bulk of the
traffic. Each request still answers only once the commit holding its callback is done.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Engine, delete
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from wxwork_demo.chores import chore
from wxwork_demo.db import get_db
from wxwork_demo.models import CallbackKey, Event, utcnow
from wxwork_demo.services.events import EVENT_COLUMNS, PRUNE_EVERY, events_trimmer, prune_due
from wxwork_demo.services.intake.bulk_insert import BulkInsert, insert_and_commit

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

    When a batch's event ids cross a multiple of PRUNE_EVERY, its writer asks this process's trimmer to trim
    `events` to MAX_EVENTS rows (on SQLite, whose driver tells no ids, after PRUNE_EVERY of the process's
    callbacks); dedup keys past CALLBACK_DEDUP_HOURS are deleted at most once a minute. Both run in threads
    of their own (chores.py), never while a batch is written and never on a request's path.
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

    def stored(self, event_id: int | None) -> None:
        """Note a callback stored outside a batch (its event's id): ask for a trim when due."""
        with self._lock:
            due = self._due(event_id, 1)
        if due:
            events_trimmer().request()

    def _write(self, own: _Queued) -> None:
        """Write `own` and what is queued, give each request of the batch its outcome, hand the writing to
        the next request in the queue (or stop writing when there is none), and ask for the upkeep due."""
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
                following = self._queue.pop(0) if self._queue else None
                if following is None:
                    self._writers -= 1
                due = outcome == STORED and self._due(first_id, len(batch))
            for item in batch[1:]:
                item.wake.release()
            if following is not None:
                following.wake.release()  # no outcome: it writes the next batch
        if outcome == STORED:
            self._ask_for_upkeep(due)

    def _ask_for_upkeep(self, trim: bool) -> None:
        """Trimming `events` and forgetting old dedup keys run in threads of their own (services/events.py,
        chores.py): a batch never waits for them, and a failure there fails no request."""
        if trim:
            events_trimmer().request()
        chore("forget-callback-keys", _forget_old_keys, delay=FORGET_KEYS_EVERY_S).request()

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


def group_commit() -> GroupCommit:
    """This app's group commit (one per app and process, made on first use: gunicorn forks before)."""
    extensions = current_app.extensions
    found = extensions.get(GROUP_COMMIT_KEY)
    if found is None:
        found = extensions.setdefault(GROUP_COMMIT_KEY, GroupCommit(get_db().engine))
    return found


def _forget_old_keys() -> None:
    """Delete the dedup keys older than CALLBACK_DEDUP_HOURS (a range of their created_at index)."""
    cutoff = utcnow() - timedelta(hours=current_app.config["CALLBACK_DEDUP_HOURS"])
    with get_db().engine.connect() as connection:
        connection.execute(delete(CallbackKey.__table__).where(CallbackKey.__table__.c.created_at < cutoff))
        connection.commit()
