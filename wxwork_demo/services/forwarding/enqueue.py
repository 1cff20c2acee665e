"""Outbox rows written with their message, in the same transaction: nothing acknowledged goes undelivered.

In a group-commit batch (services/intake/group_commit.py) `BatchOutbox.add` runs on the batch's own cursor
after the multi-row INSERTs, reads back the ids of the batch's messages by their unique key, and inserts one
`deliveries` row per message and target; a callback stored alone adds them through its ORM session
(`add_deliveries`). Which messages are forwarded: `Forwarding`, from FORWARD_URL and FORWARD_TYPES.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from wxwork_demo.config import Settings
from wxwork_demo.models import Delivery, table_of, utcnow
from wxwork_demo.services.forwarding.outbox import new_rows
from wxwork_demo.services.intake.bulk_insert import BulkInsert

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


@dataclass(frozen=True)
class Forwarding:
    """What the intake needs to know of the forwarding settings."""

    targets: tuple[str, ...] = ()
    types: frozenset[int] | None = frozenset({102000})  # None: every type

    @classmethod
    def of(cls, settings: Settings) -> Forwarding:
        return cls(targets=tuple(settings.forward_url), types=settings.forward_types)

    def wants(self, type_code: int) -> bool:
        return bool(self.targets) and (self.types is None or type_code in self.types)


class BatchOutbox:
    """The outbox rows of a batch's messages, on the batch's driver cursor (statements compiled once)."""

    def __init__(self, forwarding: Forwarding, dialect: Dialect) -> None:
        self.forwarding = forwarding
        self.insert = BulkInsert(table_of(Delivery), DELIVERY_COLUMNS, dialect)
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"

    def wanted(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages (`messages` rows) to forward."""
        return [message for message in messages if self.forwarding.wants(message["type"])]

    def add(self, cursor: Any, messages: list[dict[str, Any]]) -> int:
        """In the batch's transaction, after its messages' INSERT: their outbox rows. Returns how many."""
        if not messages:
            return 0
        accounts = sorted({message["account"] for message in messages})
        keys = sorted({message["message_key"] for message in messages})
        in_accounts, in_keys = ", ".join([self.mark] * len(accounts)), ", ".join([self.mark] * len(keys))
        where = f"account IN ({in_accounts}) AND message_key IN ({in_keys})"
        query = f"SELECT id, account, message_key FROM messages WHERE {where}"  # noqa: S608 (placeholders only)
        cursor.execute(query, (*accounts, *keys))
        ids = {(account, key): message_id for message_id, account, key in cursor.fetchall()}
        message_ids = [ids[(message["account"], message["message_key"])] for message in messages]
        rows = new_rows(message_ids, self.forwarding.targets, utcnow())
        cursor.executemany(self.insert.sql, self.insert.parameters(rows))
        return len(rows)


def add_deliveries(session: Session, message_id: int, forwarding: Forwarding) -> None:
    """The outbox rows of one message stored through an ORM session (the caller commits)."""
    session.add_all([Delivery(**values) for values in new_rows([message_id], forwarding.targets, utcnow())])
