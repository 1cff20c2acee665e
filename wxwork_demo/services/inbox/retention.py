"""Messages older than MESSAGE_RETENTION_DAYS deleted in the background, a chunk of ids at a time.

Runs on the delivery worker's thread (services/forwarding/worker.py), never on a request. Ids grow with
arrival, so the old messages are a range at the start of the primary key: found by walking it (the rows
walked are the rows to delete) and deleted by id range with their outbox rows, one short transaction per
chunk so the intake's inserts never wait long. Before a chunk goes, each account's highest `server_id` in it
is kept in `account_cursors`, so catch-up still knows where to resume after a long silence.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Insert, delete, func, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session, rows_matched
from wxwork_demo.models import AccountCursor, Delivery, Message, table_of, utcnow

CHUNK = 2000


def trim_old_messages(chunk: int = CHUNK) -> int:
    """Delete what is past retention; returns how many messages went."""
    session = db_session()
    cutoff = utcnow() - timedelta(days=current_settings().message_retention_days)
    first = session.scalar(select(func.min(Message.id)))
    if first is None:
        return 0
    first_kept = session.scalar(select(Message.id).where(Message.received_at >= cutoff).order_by(Message.id).limit(1))
    if first_kept is None:
        first_kept = (session.scalar(select(func.max(Message.id))) or 0) + 1
    session.commit()
    deleted = 0
    low = first
    while low < first_kept:
        high = min(low + chunk, first_kept)
        keep_cursors(session, low, high)
        session.execute(delete(Delivery).where(Delivery.message_id >= low, Delivery.message_id < high))
        deleted += rows_matched(session.execute(delete(Message).where(Message.id >= low, Message.id < high)))
        session.commit()
        low = high
    return deleted


def keep_cursors(session: Session, low: int, high: int) -> None:
    """Each account's highest server_id among the messages low..high-1, merged into `account_cursors`."""
    found = session.execute(
        select(Message.account, func.max(Message.server_id))
        .where(Message.id >= low, Message.id < high, Message.server_id.is_not(None), Message.account != "")
        .group_by(Message.account)
    ).all()
    for account, server_id in found:
        if server_id is None:  # the query keeps only rows with a server_id
            raise RuntimeError(f"no server_id among the messages of account {account!r} kept by the query")
        save_cursor(session, account, int(server_id))


def save_cursor(session: Session, account: str, server_id: int) -> None:
    """Raise the account's cursor to `server_id` (never lower it)."""
    values = {"account": account, "last_server_id": server_id, "updated_at": utcnow()}
    table = table_of(AccountCursor)
    if session.get_bind().dialect.name == "sqlite":
        on_sqlite = sqlite.insert(table).values(**values)
        statement: Insert = on_sqlite.on_conflict_do_update(
            index_elements=["account"],
            set_={
                "last_server_id": func.max(table.c.last_server_id, on_sqlite.excluded.last_server_id),
                "updated_at": on_sqlite.excluded.updated_at,
            },
        )
    else:
        on_mysql = mysql.insert(table).values(**values)
        statement = on_mysql.on_duplicate_key_update(
            last_server_id=func.greatest(table.c.last_server_id, on_mysql.inserted.last_server_id),
            updated_at=on_mysql.inserted.updated_at,
        )
    session.execute(statement)


def saved_cursor(account: str) -> int | None:
    row = db_session().get(AccountCursor, account)
    return row.last_server_id if row is not None else None
