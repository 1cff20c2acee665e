"""Inbox rows written in the transaction that acknowledges their callback, with their outbox rows.

The group commit (services/intake/group_commit.py) adds the batch's `messages` rows to its multi-row
INSERTs and, when forwarding is on, one `deliveries` row per message and target (their message ids read
back in the same transaction). A message the account already holds (a redelivery under another uuid, a
`referid` duplicate, an `issync` replay) breaks the batch's unique key: the group commit then stores each
callback of the batch alone (`store_alone`), where a message already held is recognised and skipped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from wxwork_demo.db import db_session
from wxwork_demo.models import Delivery, Instance, Message, utcnow
from wxwork_demo.services.forwarding.outbox import new_rows
from wxwork_demo.services.inbox.parsing import INBOX_TYPES, message_row
from wxwork_demo.services.intake.bulk_insert import BulkInsert

MESSAGE_COLUMNS = (
    "account",
    "uuid",
    "message_key",
    "type",
    "msgtype",
    "conversation",
    "is_room",
    "sender",
    "receiver",
    "content",
    "msg_id",
    "server_id",
    "send_time",
    "received_at",
    "is_sync",
    "at_list",
    "media",
    "payload",
)
DELIVERY_COLUMNS = (
    "message_id",
    "target",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "lease_owner",
    "created_at",
)
# Which account an instance is: read once per uuid and kept this long (an unknown uuid only briefly, since
# its login may be about to be stored).
ACCOUNT_TTL_S = 30.0
UNKNOWN_TTL_S = 2.0


@dataclass(frozen=True)
class Forwarding:
    """What the intake needs to know of the forwarding settings."""

    targets: tuple[str, ...] = ()
    types: frozenset[int] | None = frozenset({102000})  # None: every type

    @classmethod
    def of(cls, config) -> Forwarding:
        return cls(targets=tuple(config.get("FORWARD_TARGETS") or ()), types=config.get("FORWARD_TYPE_CODES"))

    def wants(self, type_code: int) -> bool:
        return bool(self.targets) and (self.types is None or type_code in self.types)


@dataclass(frozen=True)
class InboxInserts:
    """The inbox's statements for one dialect, compiled once (the group commit runs them per batch)."""

    messages: BulkInsert
    deliveries: BulkInsert
    placeholder: str

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> InboxInserts:
        return cls(
            messages=BulkInsert(Message.__table__, MESSAGE_COLUMNS, dialect),
            deliveries=BulkInsert(Delivery.__table__, DELIVERY_COLUMNS, dialect),
            placeholder="?" if dialect.paramstyle == "qmark" else "%s",
        )


class _Accounts:
    """uuid → account (the instance's vid), read from `sessions` on a miss and kept a short while."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, float]] = {}

    def of(self, uuid: str) -> str:
        now = time.monotonic()
        with self._lock:
            found = self._known.get(uuid)
        if found is not None and found[1] > now:
            return found[0]
        account = ""
        if uuid:
            account = db_session().scalar(select(Instance.vid).where(Instance.uuid == uuid)) or ""
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[uuid] = (account, now + (ACCOUNT_TTL_S if account else UNKNOWN_TTL_S))
        return account

    def forget(self, uuid: str) -> None:
        with self._lock:
            self._known.pop(uuid, None)


accounts = _Accounts()


def inbox_row(uuid: str, type_code: int, payload: dict) -> dict | None:
    """The `messages` row of a callback the inbox keeps, or None for the others (logins, scans...)."""
    if type_code not in INBOX_TYPES:
        return None
    return message_row(uuid, accounts.of(uuid), type_code, payload, utcnow())


def add_deliveries_in_batch(cursor: Any, inserts: InboxInserts, forwarding: Forwarding, messages: list[dict]) -> int:
    """In the batch's transaction, after its messages' INSERT: their outbox rows. Returns how many."""
    wanted = [message for message in messages if forwarding.wants(message["type"])]
    if not wanted:
        return 0
    accounts_ = sorted({message["account"] for message in wanted})
    keys = sorted({message["message_key"] for message in wanted})
    mark = inserts.placeholder
    cursor.execute(
        f"SELECT id, account, message_key FROM messages WHERE account IN ({', '.join([mark] * len(accounts_))})"
        f" AND message_key IN ({', '.join([mark] * len(keys))})",
        (*accounts_, *keys),
    )
    ids = {(account, key): message_id for message_id, account, key in cursor.fetchall()}
    message_ids = [ids[(message["account"], message["message_key"])] for message in wanted]
    rows = new_rows(message_ids, forwarding.targets, utcnow())
    cursor.executemany(inserts.deliveries.sql, inserts.deliveries.parameters(rows))
    return len(rows)


def store_alone(session: Session, row: dict, forwarding: Forwarding) -> bool:
    """Add the message (and its outbox rows) to `session` unless the account holds it already.

    Returns whether it was new. The caller commits, with its callback's event and dedup key.
    """
    held = session.scalar(
        select(Message.id).where(Message.account == row["account"], Message.message_key == row["message_key"])
    )
    if held is not None:
        return False
    message = Message(**row)
    session.add(message)
    if forwarding.wants(row["type"]):
        session.flush()  # the message's id, for its outbox rows
        for values in new_rows([message.id], forwarding.targets, utcnow()):
            session.add(Delivery(**values))
    return True
