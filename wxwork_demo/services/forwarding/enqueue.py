"""Outbox rows written with their message, in the same transaction: nothing acknowledged goes undelivered.

In a group-commit batch (services/intake/group_commit.py) `BatchOutbox.add` runs on the batch's own cursor
after the multi-row INSERTs: one `INSERT … SELECT` per target makes the `deliveries` row of each of the batch's
messages, found by their unique key, in the database itself (no round trip to read the ids back, no rows built
here). A callback stored alone adds them through its ORM session (`add_deliveries`). Which messages are
forwarded: `Forwarding`, from FORWARD_URL and FORWARD_TYPES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from wxwork_demo.config import Settings
from wxwork_demo.models import Delivery, Message, table_of, utcnow
from wxwork_demo.services.forwarding.outbox import PENDING, new_rows

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
    """The outbox rows of a batch's messages, on the batch's driver cursor."""

    def __init__(self, forwarding: Forwarding, dialect: Dialect) -> None:
        self.forwarding = forwarding
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        deliveries, messages = table_of(Delivery), table_of(Message)
        # The values of the new rows as the driver takes them (SQLite stores datetimes as text).
        self._time: Callable[[Any], Any] = deliveries.c.created_at.type.dialect_impl(dialect).bind_processor(
            dialect
        ) or (lambda value: value)
        columns = ", ".join(DELIVERY_COLUMNS)
        # Each outbox row takes its message's id from the row just inserted, in the order of the ids (the order
        # the target's deliveries are claimed in). A message of the batch not found is an error (see `add`).
        m = self.mark
        self._head = (
            f"INSERT INTO {deliveries.name} ({columns}) "  # noqa: S608 (names from the models, values bound)
            f"SELECT id, {m}, '{PENDING}', 0, '', {m}, '', {m} FROM {messages.name} WHERE "
        )

    def wanted(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages (`messages` rows) to forward."""
        return [message for message in messages if self.forwarding.wants(message["type"])]

    def add(self, cursor: Any, messages: list[dict[str, Any]]) -> int:
        """In the batch's transaction, after its messages' INSERT: their outbox rows. Returns how many.

        Raises when a message of the batch has no row (it cannot happen after its INSERT): the batch is then
        rolled back rather than stored without its deliveries."""
        if not messages:
            return 0
        keys_of: dict[str, list[str]] = {}
        for message in messages:
            keys_of.setdefault(message["account"], []).append(message["message_key"])
        # (account, key) pairs exactly, each account's keys in one IN list: the unique index's ranges.
        where = " OR ".join(
            f"(account = {self.mark} AND message_key IN ({', '.join([self.mark] * len(keys))}))"
            for keys in keys_of.values()
        )
        statement = f"{self._head}{where} ORDER BY id"
        found = [value for account, keys in keys_of.items() for value in (account, *keys)]
        now = self._time(utcnow())
        written = 0
        for target in self.forwarding.targets:
            cursor.execute(statement, (target, now, now, *found))
            if cursor.rowcount != len(messages):
                raise RuntimeError(f"{len(messages)} messages stored but {cursor.rowcount} outbox rows written")
            written += cursor.rowcount
        return written


def add_deliveries(session: Session, message_id: int, forwarding: Forwarding) -> None:
    """The outbox rows of one message stored through an ORM session (the caller commits)."""
    session.add_all([Delivery(**values) for values in new_rows([message_id], forwarding.targets, utcnow())])
