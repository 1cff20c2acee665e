"""Paced sending: the sends of one account at least SEND_MIN_INTERVAL_MS apart (plus up to SEND_JITTER_MS) across
every worker and process, and a loop guard against the same content sent to one conversation over and over.

The database holds the schedule every process shares. `send_pacing` keeps each account's next free moment (ms
since the epoch). A sender first takes the account's row lock with an UPDATE (the write lock on SQLite), so the
senders of one account are serialised; then reads the clock, takes max(now, next free moment) as its slot and
moves the next free moment one step past it. In the
same short transaction the loop guard counts the account's `sent_messages` to that conversation with the same
digest in the last minute, and the send's own row is added (status `pending`): the next sender counts it. A
send that would wait past SEND_MAX_WAIT_MS, or repeat past SEND_REPEAT_LIMIT, rolls all of it back and gets
`TooBusy` (429, Retry-After): nothing was sent, no slot was taken.

The transaction is committed before the caller waits for its slot, on a connection of its own: a waiting
request holds no database connection. A send that then fails upstream keeps its slot (slower, never faster).

May call: the database (engine-level, apart from the request's session).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from wxwork_demo.config import Settings
from wxwork_demo.db import get_db
from wxwork_demo.errors import AppError
from wxwork_demo.models import SendPacing, SentMessage, utcnow

# MySQL/MariaDB: deadlock, lock wait timeout: the reservation is tried once more.
RETRIED_ERRORS = {1213, 1205}
REPEAT_WINDOW_S = 60.0
_random = random.SystemRandom()


class TooBusy(AppError):
    """429: not sent; asking again after `retry_after` seconds can succeed (the Retry-After header)."""

    def __init__(self, message: str, retry_after: int, reason: str) -> None:
        super().__init__(429, message, code=f"send_{reason}", reason=reason, retryAfter=retry_after)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Pacing:
    """SEND_MIN_INTERVAL_MS, SEND_JITTER_MS, SEND_MAX_WAIT_MS and SEND_REPEAT_LIMIT."""

    min_interval_ms: int = 1000
    jitter_ms: int = 300
    max_wait_ms: int = 10_000
    repeat_limit: int = 5

    @classmethod
    def of(cls, settings: Settings) -> Pacing:
        return cls(
            settings.send_min_interval_ms,
            settings.send_jitter_ms,
            settings.send_max_wait_ms,
            settings.send_repeat_limit,
        )


@dataclass(frozen=True)
class Send:
    """What is about to be sent, as the loop guard and the sent log see it."""

    account: str
    uuid: str
    conversation: str
    is_room: bool
    kind: str
    # What makes two sends "the same": the text (and its @s), an image's URL or bytes, a file's name and source.
    content: str
    summary: str


@dataclass(frozen=True)
class Turn:
    """A reserved slot: when it comes (time.time() seconds), and the send's row in `sent_messages`."""

    at: float
    sent_id: int

    def wait(self) -> int:
        """Sleep until the slot; returns the milliseconds slept."""
        left = self.at - time.time()
        if left > 0:
            time.sleep(left)
        return max(0, round(left * 1000))


def now_iso_ms() -> str:
    """This moment as ISO-8601 UTC with milliseconds (when a paced send went out)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def digest_of(kind: str, content: str) -> str:
    return hashlib.sha256(f"{kind}\n{content}".encode("utf-8", "surrogatepass")).hexdigest()


def reserve(send: Send, pacing: Pacing) -> Turn:
    """Take the account's next slot for `send` (and log it as pending), or raise TooBusy."""
    step = pacing.min_interval_ms + (_random.randint(0, pacing.jitter_ms) if pacing.jitter_ms > 0 else 0)
    engine = get_db().engine
    for attempt in (1, 2):
        try:
            with engine.begin() as connection:
                return _reserve(connection, send, step, pacing)
        except DBAPIError as exc:
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if attempt == 2 or code not in RETRIED_ERRORS:
                raise
    raise RuntimeError("unreachable: the second attempt returns or raises")


def _reserve(connection: Connection, send: Send, step: int, pacing: Pacing) -> Turn:
    _lock_account(connection, send.account)
    digest = digest_of(send.kind, send.content)
    since = time.time() - REPEAT_WINDOW_S
    repeats, oldest = connection.execute(
        select(func.count(), func.min(SentMessage.created_at)).where(
            SentMessage.account == send.account,
            SentMessage.conversation == send.conversation[:64],
            SentMessage.created_at >= _naive_utc(since),
            SentMessage.digest == digest,
            SentMessage.status != "failed",
        )
    ).one()
    if repeats >= pacing.repeat_limit:
        retry = _seconds((oldest.replace(tzinfo=UTC).timestamp() - since) * 1000) if oldest is not None else 1
        raise TooBusy(
            f"the same {send.kind} went to {send.conversation} {repeats} times in the last {REPEAT_WINDOW_S:g} s "
            f"(SEND_REPEAT_LIMIT {pacing.repeat_limit}): not sent",
            retry,
            "repeat",
        )
    result = connection.execute(
        insert(SentMessage).values(
            account=send.account,
            uuid=send.uuid[:64],
            conversation=send.conversation[:64],
            is_room=send.is_room,
            kind=send.kind,
            digest=digest,
            summary=send.summary[:255],
            status="pending",
            created_at=utcnow(),
        )
    )
    # The clock is read with the lock held and as late as can be: read before the lock, a sender that waited for
    # it would take a slot in the past and go late, and the next slot would be one step after that past moment.
    next_at = connection.scalar(select(SendPacing.next_at_ms).where(SendPacing.account == send.account)) or 0
    now = int(time.time() * 1000)
    slot = max(next_at, now)
    wait = slot - now
    if wait > pacing.max_wait_ms:
        raise TooBusy(
            f"account {send.account} is busy: this send would wait {wait / 1000:.1f} s for its turn, over "
            f"SEND_MAX_WAIT_MS ({pacing.max_wait_ms} ms): not sent",
            _seconds(wait - pacing.max_wait_ms),
            "busy",
        )
    connection.execute(update(SendPacing).where(SendPacing.account == send.account).values(next_at_ms=slot + step))
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database reported no id for the send just recorded")
    return Turn(at=slot / 1000, sent_id=key[0])


def _lock_account(connection: Connection, account: str) -> None:
    """Take the account's row lock (the write lock on SQLite) with an UPDATE, first thing in the transaction (an
    INSERT or a SELECT first would take a shared lock that two senders then both try to upgrade: a deadlock on
    MySQL, SQLITE_BUSY_SNAPSHOT on SQLite). A new account's row is inserted once."""
    moved = connection.execute(
        update(SendPacing).where(SendPacing.account == account).values(turns=SendPacing.turns + 1)
    )
    if moved.rowcount:
        return
    row = insert(SendPacing).values(account=account, next_at_ms=0, turns=1)
    if connection.dialect.name == "sqlite":  # the UPDATE took the database's write lock: nobody races this
        connection.execute(row)
        return
    try:
        with connection.begin_nested():
            connection.execute(row)
    except IntegrityError:  # another sender inserted it meanwhile: lock it like any other
        _lock_account(connection, account)


def _naive_utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _seconds(ms: float) -> int:
    return max(1, math.ceil(ms / 1000))
