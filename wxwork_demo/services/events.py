"""The `events` log: record one step, list the newest, keep the table at MAX_EVENTS rows."""

from __future__ import annotations

import functools
import re
from typing import Any

from flask import current_app
from sqlalchemy import Connection, Delete, delete, func, insert, select
from sqlalchemy.orm import Session

from wxwork_demo.db import db_session
from wxwork_demo.models import Event, iso_utc, utcnow

SECRET_KEYS = {"passward", "password", "passwd", "pwd", "token", "api_token", "secret", "authorization", "cookie"}
SECRET_QUERY = re.compile(r"([?&](?:token|secret|password|api_token)=)[^&#\s\"]*", re.IGNORECASE)
MASK = "***"
# Retention runs on one insert in PRUNE_EVERY (by id, see prune_due), so the table holds at most
# MAX_EVENTS + PRUNE_EVERY rows plus the inserts in flight, and no insert ever counts the table.
PRUNE_EVERY = 20
# Built once: a statement made per call costs more to build (and to find in the cache) than to run.
INSERT_EVENT = insert(Event.__table__)
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


def event_values(session_uuid: str | None, stage: str, event_type: str, payload: Any) -> dict:
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
    """Store one event in its own commit, so it survives a failure of the request that made it.

    A plain INSERT on the session's connection (no unit of work to flush for it); the commit also commits
    whatever the caller's session holds, as it always has.
    """
    session = db_session()
    values = event_values(session_uuid, stage, event_type, payload)
    result = session.connection().execute(INSERT_EVENT, values)
    session.commit()
    event = Event(id=result.inserted_primary_key[0], **values)
    prune_if_due(session, event.id)
    return event


def prune_if_due(session: Session, newest_id: int | None) -> None:
    """Delete what lies beyond the newest MAX_EVENTS rows, once every PRUNE_EVERY inserts."""
    if prune_due(newest_id):
        prune(session)


def prune_due(first_id: int | None, count: int = 1) -> bool:
    """Whether the event ids first_id .. first_id + count - 1 hold a multiple of PRUNE_EVERY.

    The ids are the table's own, shared by every process that writes to it: whatever the number of
    workers, the table is trimmed once per PRUNE_EVERY rows, by the process that wrote the row crossing it.
    """
    if not first_id:
        return False
    return (first_id + count - 1) // PRUNE_EVERY > (first_id - 1) // PRUNE_EVERY


def prune(target: Session | Connection) -> None:
    """Delete what lies beyond the newest MAX_EVENTS rows: one DELETE, one commit.

    The cut-off is the id MAX_EVENTS entries down the primary key, found inside the DELETE (through a derived
    table, which MySQL requires to read the table it deletes from), never by counting the table.
    """
    connection = target.connection() if isinstance(target, Session) else target
    connection.execute(_prune_statement(current_app.config["MAX_EVENTS"]))
    target.commit()


@functools.lru_cache(maxsize=4)
def _prune_statement(keep: int) -> Delete:
    """Built once per MAX_EVENTS: building it costs more than running it."""
    table = Event.__table__
    newest = select(table.c.id).order_by(table.c.id.desc()).offset(keep - 1).limit(1).subquery()
    return delete(table).where(table.c.id < select(newest.c.id).scalar_subquery())


def latest_events(limit: int | None = None, after_id: int = 0, **filters: str) -> list[Event]:
    """Newest first, at most `limit` (default MAX_EVENTS), newer than `after_id`, filtered by column values."""
    limit = limit or current_app.config["MAX_EVENTS"]
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


def event_to_dict(event: Event) -> dict:
    return {
        "id": event.id,
        "sessionUuid": event.session_uuid or "",
        "stage": event.stage or "",
        "eventType": event.event_type or "",
        "payload": event.payload if event.payload is not None else {},
        "createdAt": iso_utc(event.created_at),
    }
