"""The outbox: one `deliveries` row per message and target, claimed with a lease, retried with backoff.

A row is written in the transaction that stores its message (services/inbox/store.py), so an acknowledged
message always has its deliveries. Workers claim due rows by pushing `next_attempt_at` forward by a lease
and stamping a claim token in `lease_owner`; a worker that dies leaves rows that fall due again when the
lease runs out, so a crash costs a repeat (the receiver sees the same `X-Wxwork-Delivery`), never a loss.
Only the claim's holder can record an outcome (`WHERE lease_owner = token`).
"""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from wxwork_demo.models import Delivery, iso_utc, table_of, utcnow

DELIVERIES = table_of(Delivery)  # for the Core statements below

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
STATUSES = (PENDING, DELIVERED, DEAD)
# Shown errors are cut to the column.
MAX_ERROR = 255

_claims = itertools.count(1)
_OWNER = f"{socket.gethostname()[:24]}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    id: int
    message_id: int
    attempts: int
    token: str


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    status: int | None  # the HTTP status, None when no answer came
    error: str  # "" for a delivery
    # Not attempted (its lease is handed back, no attempt counted).
    skipped: bool = False
    # When it is due again: for a skipped one (None: at once), for a failed one that is not dead (None: after
    # the backoff of its attempts).
    due_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.error == "" and not self.skipped


def backoff_delay(attempts: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after `attempts` tries: base doubling, capped, ±20 % jitter (so many
    deliveries that failed together do not come back together)."""
    delay = min(cap_s, base_s * 2.0 ** max(0, attempts - 1))
    return min(cap_s, delay * (0.8 + 0.4 * rand()))


def new_rows(message_ids: list[int], targets: tuple[str, ...], now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of new messages: one per target, due at once."""
    return [
        {
            "message_id": message_id,
            "target": target,
            "status": PENDING,
            "attempts": 0,
            "last_error": "",
            "next_attempt_at": now,
            "lease_owner": "",
            "created_at": now,
        }
        for message_id in message_ids
        for target in targets
    ]


# The claim's statements, built once (building them cost more CPU than running them).
_DUE = (
    select(DELIVERIES.c.id, DELIVERIES.c.message_id, DELIVERIES.c.attempts)
    .where(
        DELIVERIES.c.target == bindparam("c_target"),
        DELIVERIES.c.status == PENDING,
        DELIVERIES.c.next_attempt_at <= bindparam("c_now"),
    )
    .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
)
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)
_IDS = DELIVERIES.c.id.in_(bindparam("c_ids", expanding=True))
_LEASE = update(DELIVERIES).where(_IDS).values(next_attempt_at=bindparam("c_until"), lease_owner=bindparam("c_token"))
_LEASE_IF_DUE = _LEASE.where(DELIVERIES.c.status == PENDING, DELIVERIES.c.next_attempt_at <= bindparam("c_now"))
_LEASED = (
    select(DELIVERIES.c.id, DELIVERIES.c.message_id, DELIVERIES.c.attempts)
    .where(_IDS, DELIVERIES.c.lease_owner == bindparam("c_token"))
    .order_by(DELIVERIES.c.id)
)


def claim(engine: Engine, target: str, limit: int, lease_s: float) -> list[Claim]:
    """Take up to `limit` due deliveries of `target` for `lease_s` seconds, in the order of their ids.

    MariaDB/MySQL: `SELECT … FOR UPDATE SKIP LOCKED` then the lease, in one transaction: concurrent workers
    take disjoint rows without waiting for each other, and the rows read are the rows leased. SQLite (one
    writer at a time, no row locks): the ids are read, then a conditional UPDATE leases only those still due;
    the token tells which it got.
    """
    now = utcnow()
    token = f"{_OWNER}:{next(_claims)}"[:64]
    params = {"c_target": target, "c_now": now, "c_until": now + timedelta(seconds=lease_s), "c_token": token}
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            ids = list(connection.execute(_DUE.limit(limit), params).scalars())
            connection.commit()
            if not ids:
                return []
            connection.execute(_LEASE_IF_DUE, {**params, "c_ids": ids})
            connection.commit()
            rows = connection.execute(_LEASED, {**params, "c_ids": ids}).all()
            connection.commit()
        else:
            rows = sorted(connection.execute(_DUE_LOCKED.limit(limit), params).all(), key=lambda row: row.id)
            if rows:
                connection.execute(_LEASE, {**params, "c_ids": [row.id for row in rows]})
            connection.commit()
    return [Claim(id=row.id, message_id=row.message_id, attempts=row.attempts, token=token) for row in rows]


_FINISH = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("b_id"), DELIVERIES.c.lease_owner == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        last_status=bindparam("b_last_status"),
        last_error=bindparam("b_last_error"),
        next_attempt_at=bindparam("b_next"),
        delivered_at=bindparam("b_delivered_at"),
        lease_owner="",
    )
)


# The common outcome, delivered at the first try of a claim, for many rows in one statement (a statement per
# row cost the database and the worker more than the rest of a delivery): grouped by the answer's status.
_DELIVERED = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id.in_(bindparam("b_ids", expanding=True)), DELIVERIES.c.lease_owner == bindparam("b_token"))
    .values(
        status=DELIVERED,
        attempts=DELIVERIES.c.attempts + 1,
        last_status=bindparam("b_last_status"),
        last_error="",
        next_attempt_at=bindparam("b_now"),
        delivered_at=bindparam("b_now"),
        lease_owner="",
    )
)


_RELEASE = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("b_id"), DELIVERIES.c.lease_owner == bindparam("b_token"))
    .values(next_attempt_at=bindparam("b_next"), lease_owner="")
)


def finish(engine: Engine, outcomes: list[Outcome], max_attempts: int, base_s: float, cap_s: float) -> None:
    """Record what each attempt gave: delivered, due again after a backoff, or dead after `max_attempts`;
    hand back the rows not attempted."""
    if not outcomes:
        return
    now = utcnow()
    params = []
    released = []
    delivered: dict[tuple[str, int | None], list[int]] = {}  # (claim token, HTTP status) -> ids
    for outcome in outcomes:
        if outcome.delivered:
            delivered.setdefault((outcome.claim.token, outcome.status), []).append(outcome.claim.id)
            continue
        if outcome.skipped:
            next_at = outcome.due_at or now
            released.append({"b_id": outcome.claim.id, "b_token": outcome.claim.token, "b_next": next_at})
            continue
        attempts = outcome.claim.attempts + 1
        if attempts >= max_attempts:
            status, next_at, delivered_at = DEAD, now, None
        elif outcome.due_at is not None:
            status, next_at, delivered_at = PENDING, outcome.due_at, None
        else:
            delay = backoff_delay(attempts, base_s, cap_s)
            status, next_at, delivered_at = PENDING, now + timedelta(seconds=delay), None
        params.append(
            {
                "b_id": outcome.claim.id,
                "b_token": outcome.claim.token,
                "b_status": status,
                "b_attempts": attempts,
                "b_last_status": outcome.status,
                "b_last_error": outcome.error[:MAX_ERROR],
                "b_next": next_at,
                "b_delivered_at": delivered_at,
            }
        )
    with engine.connect() as connection:
        for (token, last_status), ids in delivered.items():
            connection.execute(_DELIVERED, {"b_ids": ids, "b_token": token, "b_last_status": last_status, "b_now": now})
        if params:
            connection.execute(_FINISH, params)
        if released:
            connection.execute(_RELEASE, released)
        connection.commit()


def replay(connection: Connection, ids: list[int] | None = None, status: str | None = None) -> int:
    """Due again at once with a fresh count of attempts, same delivery id. Returns how many rows."""
    table = DELIVERIES
    query = update(table).values(status=PENDING, attempts=0, next_attempt_at=utcnow(), lease_owner="")
    if ids is not None:
        query = query.where(table.c.id.in_(ids))
    if status is not None:
        query = query.where(table.c.status == status)
    count = connection.execute(query).rowcount
    return int(count or 0)


def shown_target(url: str) -> str:
    """The target as the API and logs show it: no user:password, no query (it may hold a token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def delivery_to_dict(row: Delivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "messageId": row.message_id,
        "target": shown_target(row.target),
        "status": row.status,
        "attempts": row.attempts,
        "lastStatus": row.last_status,
        "lastError": row.last_error or "",
        "nextAttemptAt": iso_utc(row.next_attempt_at) if row.status == PENDING else "",
        "deliveredAt": iso_utc(row.delivered_at),
    }


def counts(connection: Connection, target: str | None = None) -> dict[str, Any]:
    """{"pending", "delivered", "dead"} rows (of one target, or all)."""
    table = DELIVERIES
    query = select(table.c.status, func.count()).group_by(table.c.status)
    if target is not None:
        query = query.where(table.c.target == target)
    found: dict[str, int] = {status: number for status, number in connection.execute(query)}
    return {status: int(found.get(status, 0)) for status in STATUSES}
