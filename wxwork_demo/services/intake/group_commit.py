"""Group commit: the plain callbacks of concurrent requests written in one transaction, one disk flush.

Used by the webhook (services/intake/callbacks.py) for every callback that changes no session row: the bulk of the
traffic. Each request still answers only once the commit holding its callback is done. The same transaction
holds the inbox rows of the batch's messages (services/inbox/store.py) and their forwarding outbox rows
(services/forwarding/enqueue.py): what is acknowledged is kept, and delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Engine, Table, delete
from sqlalchemy.exc import IntegrityError

from wxwork_demo.app_state import app_owned
from wxwork_demo.chores import chore
from wxwork_demo.config import current_settings
from wxwork_demo.db import get_db
from wxwork_demo.errors import database_unavailable
from wxwork_demo.models import CallbackKey, Event, Message, table_of, utcnow
from wxwork_demo.proxies import unproxied
from wxwork_demo.services.events import EVENT_COLUMNS, PRUNE_EVERY, events_trimmer, prune_due
from wxwork_demo.services.forwarding.enqueue import BatchOutbox, Forwarding
from wxwork_demo.services.inbox.store import MESSAGE_COLUMNS
from wxwork_demo.services.intake.bulk_insert import BulkInsert, insert_and_commit

STORED = "stored"
ALONE = "alone"
GROUP_COMMIT_KEY = "wxwork_callback_group_commit"
# Dedup keys older than CALLBACK_DEDUP_HOURS are deleted at most this often (per process).
FORGET_KEYS_EVERY_S = 60.0
EVENTS = table_of(Event).name
MESSAGES = table_of(Message).name


# What a batch writes: per table, the columns of the row each callback brings, in this order (the dedup
# keys first). A table written with the callbacks is one more entry here and one more row per callback that
# has one: every callback brings a key and an event, only those the inbox keeps bring a message.
BATCH_TABLES: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (table_of(CallbackKey), ("key", "created_at")),
    (table_of(Event), EVENT_COLUMNS),
    (table_of(Message), MESSAGE_COLUMNS),
)


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Queued:
    rows: dict[str, dict[str, Any]]  # table name → this callback's row in it
    outcome: str | BaseException | None = None
    # Held until the request may go on: its outcome is known, or it is to write the next batch.
    wake: Any = field(default_factory=_held_lock)


class GroupCommit:
    """One transaction for the plain callbacks of concurrent requests: one commit (one disk flush) for all.

    A request writes its callback at once when fewer than WRITERS batches are being written: its own and
    whatever is queued (at most MAX_BATCH), with one multi-row INSERT per table of BATCH_TABLES, then the
    commit. Otherwise it queues and waits. When a batch is committed its writer wakes each
    request of the batch and hands the writing on to the first request still queued, which takes what is
    queued by then. No thread and no timer of its own: a lone callback is a batch of one, written at once,
    and each request answers only after the commit that holds its callback.

    A batch that hits a key taken before (a redelivery) stores nothing, and each of its requests stores its
    callback alone, which tells the redelivery from the others. So does a batch the database refuses for
    what it holds (payloads are made storable before, services/intake/payloads.py; this is the safety net):
    only the callback at fault fails. A database that cannot serve (down, connection lost, deadlock) is the
    answer of every request in the batch (503), so the upstream sends them all again.

    When a batch's event ids cross a multiple of PRUNE_EVERY, its writer asks this process's trimmer to trim
    `events` to MAX_EVENTS rows (on SQLite, whose driver tells no ids, after PRUNE_EVERY of the process's
    callbacks); dedup keys past CALLBACK_DEDUP_HOURS are deleted at most once a minute. Both run in threads
    of their own (chores.py), never while a batch is written and never on a request's path.
    """

    MAX_BATCH = 64
    # Batches written at once. One: the callbacks that arrive while a batch commits make the next batch, as
    # large as it gets; two writers halved the batches and cost more CPU per callback than they saved.
    WRITERS = 1

    def __init__(
        self, engine: Engine, forwarding: Forwarding | None = None, on_deliveries: Callable[[], None] | None = None
    ) -> None:
        self._engine = engine
        self._inserts = {table.name: BulkInsert(table, columns, engine.dialect) for table, columns in BATCH_TABLES}
        self._outbox = BatchOutbox(forwarding or Forwarding(), engine.dialect)
        # Called after a batch wrote outbox rows: wakes this process's delivery worker.
        self._on_deliveries = on_deliveries
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._writers = 0
        self._since_prune = 0

    def store(self, rows: dict[str, dict[str, Any]]) -> bool:
        """Write one callback's rows (table name → row, tables of BATCH_TABLES) with those of concurrent
        requests. True once committed; False when the callback must be stored alone. Raises a database
        error when the database cannot serve."""
        item = _Queued(rows)
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
        return self._outbox.forwarding

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
        deliveries = 0
        try:
            outcome, first_id, deliveries = _insert_batch(self._engine, self._inserts, self._outbox, batch)
        except Exception as exc:  # the answer of every request, unless what one of them holds is the cause
            outcome = exc if database_unavailable(exc) else ALONE
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
            if deliveries and self._on_deliveries is not None:
                self._on_deliveries()
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


def _insert_batch(
    engine: Engine, inserts: dict[str, BulkInsert], outbox: BatchOutbox, batch: list[_Queued]
) -> tuple[str, int | None, int]:
    """One multi-row INSERT per table, the outbox rows of the batch's forwarded messages, and a commit, on a
    connection of the pool (no ORM session: nothing to track).

    Returns the outcome, the id of the batch's first event when the driver tells it, and how many outbox
    rows were written. A key taken before, or a message the account holds already, is an IntegrityError:
    the batch stores nothing and its callbacks are stored alone.
    """
    work = []
    for name, bulk in inserts.items():
        rows = [item.rows[name] for item in batch if name in item.rows]
        if rows:
            work.append((bulk, rows))
    forwarded = outbox.wanted([item.rows[MESSAGES] for item in batch if MESSAGES in item.rows])
    written = 0

    def add_outbox_rows(cursor: Any) -> None:
        nonlocal written
        written = outbox.add(cursor, forwarded)

    with engine.connect() as connection:
        try:
            first_ids = insert_and_commit(connection, work, then=add_outbox_rows if forwarded else None)
        except IntegrityError:
            return ALONE, None, 0
    tables = [bulk.table.name for bulk, _ in work]
    first_event_id = first_ids[tables.index(EVENTS)] if EVENTS in tables else None
    return STORED, first_event_id, written


def group_commit() -> GroupCommit:
    """This app's group commit (one per app and process, made on first use: gunicorn forks before)."""
    return app_owned(GROUP_COMMIT_KEY, GroupCommit, _make_group_commit)


def _make_group_commit() -> GroupCommit:
    from wxwork_demo.services.forwarding.worker import wake_worker

    app = unproxied(current_app)
    return GroupCommit(get_db().engine, Forwarding.of(current_settings()), lambda: wake_worker(app))


def _forget_old_keys() -> None:
    """Delete the dedup keys older than CALLBACK_DEDUP_HOURS (a range of their created_at index)."""
    cutoff = utcnow() - timedelta(hours=current_settings().callback_dedup_hours)
    with get_db().engine.connect() as connection:
        keys = table_of(CallbackKey)
        connection.execute(delete(keys).where(keys.c.created_at < cutoff))
        connection.commit()
