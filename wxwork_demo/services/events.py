"""The `events` log: record one step, list the newest, keep the table at MAX_EVENTS rows."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from wxwork_demo.chores import Chore, chore
from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session, get_db, holds_uncommitted_writes
from wxwork_demo.models import Event, iso_utc, table_of, utcnow

SECRET_KEYS = {"passward", "password", "passwd", "pwd", "token", "api_token", "secret", "authorization", "cookie"}
SECRET_QUERY = re.compile(r"([?&](?:token|secret|password|api_token)=)[^&#\s\"]*", re.IGNORECASE)
MASK = "***"
# A trim is asked for once per PRUNE_EVERY new ids (see prune_due) and runs at once in a thread of its own
# (see trim_events), so the table holds at most MAX_EVENTS + PRUNE_EVERY rows plus what is inserted while
# the trim runs, and no insert ever counts the table or waits for a trim.
PRUNE_EVERY = 20
# Ids per DELETE: a backlog (MAX_EVENTS lowered, a long outage) goes in short transactions.
TRIM_CHUNK = 5000
# Built once: a statement made per call costs more to build (and to find in the cache) than to run.
EVENTS = table_of(Event)
INSERT_EVENT = insert(EVENTS)
# The columns event_values() fills.
EVENT_COLUMNS = ("session_uuid", "stage", "event_type", "payload", "created_at")


def mask_secrets(value: Any) -> Any:
    """A copy of `value` with passwords and tokens replaced, wherever they are nested."""
    if isinstance(value, dict):
        return {
            k: (MASK if str(k).lower() in SECRET_KEYS and v not in (None, "") else mask_secrets(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str) and "=" in value:
        return SECRET_QUERY.sub(r"\1" + MASK, value)
    return value


def event_values(session_uuid: str | None, stage: str, event_type: str, payload: Any) -> dict[str, Any]:
    """The column values of one event row: secrets masked, strings cut to their columns."""
    if not isinstance(payload, dict):
        payload = {"value": payload}
    return {
        "session_uuid": (session_uuid or "")[:64],
        "stage": stage[:64],
        "event_type": event_type[:64],
        "payload": mask_secrets(payload),
        "created_at": utcnow(),
    }


def add_event(session: Session, session_uuid: str | None, stage: str, event_type: str, payload: Any) -> Event:
    """Add an event to `session` without committing (the caller's transaction decides)."""
    event = Event(**event_values(session_uuid, stage, event_type, payload))
    session.add(event)
    return event


def record_event(session_uuid: str | None, stage: str, event_type: str, payload: Any) -> Event:
    """Store one event in a short transaction of its own, so it outlives the unit of work that made it.

    For what must be kept whatever happens next: an alert sent, a monitor pass (an upstream call's outcome is
    its own short unit of work: services/upstream_calls.py, record_outcome). It never touches the caller's
    session: an event that belongs to a unit of work is added to it with `add_event` and committed with it.
    The caller must hold no uncommitted writes (refused with a RuntimeError): on SQLite the event's transaction
    would wait for their write lock, and on any database a unit of work that calls out while holding row locks
    holds them for the call's length.
    """
    database = get_db()
    session = database.sessions()
    if holds_uncommitted_writes(session):
        raise RuntimeError(
            f"record_event({stage!r}) called while the unit of work holds uncommitted writes: commit or roll "
            "them back first, or add the event to the unit of work with add_event"
        )
    values = event_values(session_uuid, stage, event_type, payload)
    with database.engine.begin() as connection:
        key = connection.execute(INSERT_EVENT, values).inserted_primary_key
    if key is None:
        raise RuntimeError("the database reported no id for the event just inserted")
    event = Event(id=key[0], **values)
    prune_if_due(event.id)
    return event


def prune_if_due(newest_id: int | None) -> None:
    """Ask for a trim when `newest_id` is a multiple of PRUNE_EVERY (the request does not wait for it)."""
    if prune_due(newest_id):
        events_trimmer().request()


def prune_due(first_id: int | None, count: int = 1) -> bool:
    """Whether the event ids first_id .. first_id + count - 1 hold a multiple of PRUNE_EVERY.

    The ids are the table's own, shared by every process that writes to it: whatever the number of
    workers, a trim is asked for once per PRUNE_EVERY rows, by the process that wrote the row crossing it.
    """
    if not first_id:
        return False
    return (first_id + count - 1) // PRUNE_EVERY > (first_id - 1) // PRUNE_EVERY


def events_trimmer() -> Chore:
    """This process's trimmer: `trim_events` in a thread of its own, off every request's path."""
    return chore("trim-events", _trim_now)


def _trim_now() -> None:
    with get_db().engine.connect() as connection:
        trim_events(connection, current_settings().max_events)


# Built once: building a statement costs more than running it on a few rows.
_BOUNDS = select(select(func.min(EVENTS.c.id)).scalar_subquery(), select(func.max(EVENTS.c.id)).scalar_subquery())
_DELETE_RANGE = delete(EVENTS).where(EVENTS.c.id.between(bindparam("low"), bindparam("high")))


def trim_events(connection: Connection, keep: int) -> int:
    """Delete every event more than `keep` ids older than the newest; returns the rows deleted.

    The cap of the old demo (MAX_EVENTS rows kept) as an id cutoff, `MAX(id) - keep`: the two ends of the
    primary key are read (an index lookup each, two subqueries so that SQLite looks them up too), then a
    primary-key range is deleted, TRIM_CHUNK ids per transaction. No statement scans the table or reads
    the rows kept, so a trim costs the same at 1k rows as at 200k and, locking only the rows it deletes, in
    id order, it cannot deadlock with inserts (always above the newest id) nor with another worker's trim.
    Gaps in the ids (rolled-back inserts) can leave a few fewer than `keep` rows, never more.
    """
    oldest, newest = connection.execute(_BOUNDS).one()
    connection.commit()
    if newest is None:
        return 0
    cutoff = newest - keep
    deleted = 0
    while oldest <= cutoff:
        high = min(cutoff, oldest + TRIM_CHUNK - 1)
        deleted += connection.execute(_DELETE_RANGE, {"low": oldest, "high": high}).rowcount
        connection.commit()
        oldest = high + 1
    return deleted


def latest_events(limit: int | None = None, after_id: int = 0, **filters: str) -> list[Event]:
    """Newest first, at most `limit` (default MAX_EVENTS), newer than `after_id`, filtered by column values."""
    limit = limit or current_settings().max_events
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if after_id:
        query = query.where(Event.id > after_id)
    for column in ("session_uuid", "stage", "event_type"):
        if filters.get(column):
            query = query.where(getattr(Event, column) == filters[column])
    return list(db_session().scalars(query))


def count_events() -> int:
    """Rows in the table (small by construction: it is pruned to MAX_EVENTS)."""
    return db_session().scalar(select(func.count()).select_from(Event)) or 0


def event_to_dict(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "sessionUuid": event.session_uuid or "",
        "stage": event.stage or "",
        "eventType": event.event_type or "",
        "payload": event.payload if event.payload is not None else {},
        "createdAt": iso_utc(event.created_at),
    }
