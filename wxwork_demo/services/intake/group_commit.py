"""Group commit: the plain callbacks of concurrent requests written in one transaction, one disk flush.

Used by the webhook (services/intake/callbacks.py) for every callback that changes no session row: the bulk of the
traffic. Each request still answers only once the commit holding its callback is done. The same transaction
holds the inbox rows of the batch's messages and their forwarding outbox rows (services/inbox/store.py).
"""

from __future__ import annotations

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

from wxwork_demo.db import get_db
from wxwork_demo.models import CallbackKey, Event, utcnow
from wxwork_demo.services.events import EVENT_COLUMNS, PRUNE_EVERY, prune, prune_due
from wxwork_demo.services.inbox.store import Forwarding, InboxInserts, add_deliveries_in_batch
from wxwork_demo.services.intake.bulk_insert import BulkInsert, insert_and_commit

log = logging.getLogger(__name__)

STORED = "stored"
ALONE = "alone"
GROUP_COMMIT_KEY = "wxwork_callback_group_commit"
# Dedup keys older than CALLBACK_DEDUP_HOURS are deleted at most this often (per process).
FORGET_KEYS_EVERY_S = 60.0


@dataclass(frozen=True)
class _BatchInserts:
    keys: BulkInsert
    events: BulkInsert
    inbox: InboxInserts

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> _BatchInserts:
        return cls(
            keys=BulkInsert(CallbackKey.__table__, ("key", "created_at"), dialect),
            events=BulkInsert(Event.__table__, EVENT_COLUMNS, dialect),
            inbox=InboxInserts.for_dialect(dialect),
        )


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Queued:
    key: str
    event: dict
    message: dict | None = None  # its inbox row, for the callbacks the inbox keeps
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

    def __init__(self, engine: Engine, forwarding: Forwarding | None = None, on_deliveries=None) -> None:
        self._engine = engine
        self._inserts = _BatchInserts.for_dialect(engine.dialect)
        self._forwarding = forwarding or Forwarding()
        # Called (no arguments) after a batch wrote outbox rows: wakes this process's delivery worker.
        self._on_deliveries = on_deliveries
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._writers = 0
        self._since_prune = 0
        self._keys_forgotten_at: float | None = None

    def store(self, key: str, event: dict, message: dict | None = None) -> bool:
        """True once committed; False when the callback must be stored alone. Raises a database error."""
        item = _Queued(key, event, message)
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

    @property
    def forwarding(self) -> Forwarding:
        return self._forwarding

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
            outcome, first_id, deliveries = _insert_batch(self._engine, self._inserts, self._forwarding, batch)
            if deliveries and self._on_deliveries is not None:
                self._on_deliveries()
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


def _insert_batch(
    engine: Engine, inserts: _BatchInserts, forwarding: Forwarding, batch: list[_Queued]
) -> tuple[str, int | None, int]:
    """Multi-row INSERTs (dedup keys, events, inbox messages, outbox rows) and a commit on a connection of the
    pool (no ORM session: nothing to track).

    Returns the outcome, the id of the batch's first event when the driver tells it, and how many outbox
    rows were written. A key taken before, or a message the account holds already, is an IntegrityError:
    the batch stores nothing and its callbacks are stored alone.
    """
    now = utcnow()
    keys = [{"key": item.key, "created_at": now} for item in batch]
    messages = [item.message for item in batch if item.message is not None]
    work = [(inserts.keys, keys), (inserts.events, [item.event for item in batch])]
    if messages:
        work.append((inserts.inbox.messages, messages))
    written = [0]

    def outbox_rows(cursor) -> None:
        written[0] = add_deliveries_in_batch(cursor, inserts.inbox, forwarding, messages)

    with engine.connect() as connection:
        try:
            first_ids = insert_and_commit(connection, work, then=outbox_rows if messages else None)
        except IntegrityError:
            return ALONE, None, 0
    return STORED, first_ids[1], written[0]


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
        from wxwork_demo.services.forwarding.worker import wake_worker

        app = current_app._get_current_object()
        made = GroupCommit(get_db().engine, Forwarding.of(app.config), lambda: wake_worker(app))
        found = extensions.setdefault(GROUP_COMMIT_KEY, made)
    return found


def _forget_old_keys(target: Session | Connection) -> None:
    cutoff = utcnow() - timedelta(hours=current_app.config["CALLBACK_DEDUP_HOURS"])
    target.execute(delete(CallbackKey.__table__).where(CallbackKey.__table__.c.created_at < cutoff))
    target.commit()
