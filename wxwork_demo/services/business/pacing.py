"""Paced sending: the sends of one account at least SEND_MIN_INTERVAL_MS apart (plus up to SEND_JITTER_MS) across
every worker and process, and a loop guard against the same content sent to one conversation over and over.

The database holds the schedule every process shares. `send_pacing` keeps each account's next free moment (ms
since the epoch). A send's slot is max(now, next free moment), and the next free moment moves one step past it,
under the account's row lock (the write lock on SQLite), so the senders of one account are serialised:

- an account whose next free moment has passed (the usual case) is claimed with one conditional UPDATE that
  both takes the lock and moves the moment: the slot is now;
- otherwise (a send is due or waiting, or the account is new) the lock is taken first, then the clock is read
  and the next free moment with it (the locking path).

With the lock held the loop guard counts the account's `sent_messages` to that conversation with the same digest
in the last minute, in the statement that adds the send's own row (status `pending`) when the count is under
SEND_REPEAT_LIMIT: the next sender counts it. A send that would wait past SEND_MAX_WAIT_MS, or repeat past
SEND_REPEAT_LIMIT, rolls all of it back and gets `TooBusy` (429, Retry-After): nothing was sent, no slot was
taken.

The reservation commits the request's session (its read of the instance ends with it: one commit for both)
before the caller waits for its slot: a waiting request holds no database connection. A send that then fails
upstream keeps its slot (slower, never faster).

May call: the database (the request's session).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from wxwork_demo.config import Settings
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.models import SendPacing, SentMessage, table_of, utcnow

# MySQL/MariaDB: deadlock, lock wait timeout: the reservation is tried once more.
RETRIED_ERRORS = {1213, 1205}
REPEAT_WINDOW_S = 60.0
# A claim of an idle account that took longer than this waited for a lock: see _claim_idle_account.
LATE_CLAIM_MS = 10
_random = random.SystemRandom()

# Built once: building these statements cost more CPU than running them (about 2.5 ms for the INSERT ... SELECT).
PACING = table_of(SendPacing)
SENT = table_of(SentMessage)
# The claim of an idle account (see _claim_idle_account).
CLAIM = (
    update(PACING)
    .where(PACING.c.account == bindparam("of_account"), PACING.c.next_at_ms <= bindparam("now"))
    .values(next_at_ms=bindparam("next_at"), turns=PACING.c.turns + 1)
)
MOVE_NEXT = update(PACING).where(PACING.c.account == bindparam("of_account")).values(next_at_ms=bindparam("next_at"))
# The loop guard's repeats of a send: the same digest to the same conversation since a moment, not failed.
REPEATS = (
    SENT.c.account == bindparam("of_account"),
    SENT.c.conversation == bindparam("to_conversation"),
    SENT.c.created_at >= bindparam("since"),
    SENT.c.digest == bindparam("of_digest"),
    SENT.c.status != "failed",
)
REPEATS_SEEN = select(func.count(), func.min(SENT.c.created_at)).where(*REPEATS)
PENDING_COLUMNS = ("account", "uuid", "conversation", "is_room", "kind", "digest", "summary", "status", "created_at")
# The send's row, inserted only while its repeats are under the limit.
LOG_PENDING = insert(SENT).from_select(
    PENDING_COLUMNS,
    select(*(bindparam(f"new_{name}", type_=SENT.c[name].type) for name in PENDING_COLUMNS)).where(
        select(func.count()).where(*REPEATS).scalar_subquery() < bindparam("repeat_limit")
    ),
)


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
    """Take the account's next slot for `send` (and log it as pending) and commit, or raise TooBusy.

    Works in the request's session and commits it: call it with nothing pending there.
    """
    step = pacing.min_interval_ms + (_random.randint(0, pacing.jitter_ms) if pacing.jitter_ms > 0 else 0)
    session = db_session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("reserve() commits the session: it was called with changes pending")
    for attempt in (1, 2):
        try:
            turn = _reserve(session.connection(), send, step, pacing)
            session.commit()
            return turn
        except TooBusy:
            session.rollback()
            raise
        except DBAPIError as exc:
            session.rollback()
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if attempt == 2 or code not in RETRIED_ERRORS:
                raise
    raise RuntimeError("unreachable: the second attempt returns or raises")


def _reserve(connection: Connection, send: Send, step: int, pacing: Pacing) -> Turn:
    now = _now_ms()
    if _claim_idle_account(connection, send.account, now, step):
        return Turn(at=now / 1000, sent_id=_log_pending(connection, send, pacing))
    _lock_account(connection, send.account)
    sent_id = _log_pending(connection, send, pacing)
    # The clock is read with the lock held and as late as can be: read before the lock, a sender that waited for
    # it would take a slot in the past and go late, and the next slot would be one step after that past moment.
    next_at = connection.scalar(select(SendPacing.next_at_ms).where(SendPacing.account == send.account)) or 0
    now = _now_ms()
    slot = max(next_at, now)
    wait = slot - now
    if wait > pacing.max_wait_ms:
        raise TooBusy(
            f"account {send.account} is busy: this send would wait {wait / 1000:.1f} s for its turn, over "
            f"SEND_MAX_WAIT_MS ({pacing.max_wait_ms} ms): not sent",
            _seconds(wait - pacing.max_wait_ms),
            "busy",
        )
    connection.execute(MOVE_NEXT, {"of_account": send.account, "next_at": slot + step})
    return Turn(at=slot / 1000, sent_id=sent_id)


def _claim_idle_account(connection: Connection, account: str, now: int, step: int) -> bool:
    """Take the account's lock and the slot `now` in one statement, when its next free moment has passed.

    False (nothing changed, no lock kept) when it has not, or the account has no row yet: the locking path then
    decides. A row locked by another sender is waited for and its committed moment checked again (InnoDB's
    semi-consistent read; SQLite's write lock). A claim that waited for a lock longer than LATE_CLAIM_MS moves
    the next free moment to one step after the moment it got it, as the locking path would: the send goes out
    from then on.
    """
    claimed = connection.execute(CLAIM, {"of_account": account, "now": now, "next_at": now + step})
    if not claimed.rowcount:
        return False
    locked_at = _now_ms()
    if step and locked_at - now > LATE_CLAIM_MS:
        connection.execute(MOVE_NEXT, {"of_account": account, "next_at": locked_at + step})
    return True


def _log_pending(connection: Connection, send: Send, pacing: Pacing) -> int:
    """Add the send's row (pending) unless the loop guard refuses it (TooBusy); returns the row's id.

    One INSERT ... SELECT: the row is inserted only when fewer than SEND_REPEAT_LIMIT sends of the same digest
    went to the conversation in the last REPEAT_WINDOW_S. Run with the account's lock held, so concurrent
    senders count each other's rows.
    """
    since = time.time() - REPEAT_WINDOW_S
    digest = digest_of(send.kind, send.content)
    repeats: dict[str, object] = {
        "of_account": send.account,
        "to_conversation": send.conversation[:64],
        "of_digest": digest,
        "since": _naive_utc(since),
    }
    row = {
        "new_account": send.account,
        "new_uuid": send.uuid[:64],
        "new_conversation": send.conversation[:64],
        "new_is_room": send.is_room,
        "new_kind": send.kind,
        "new_digest": digest,
        "new_summary": send.summary[:255],
        "new_status": "pending",
        "new_created_at": utcnow(),
    }
    result = connection.execute(LOG_PENDING, {**row, **repeats, "repeat_limit": pacing.repeat_limit})
    if result.rowcount == 1:
        if not result.lastrowid:
            raise RuntimeError("the database reported no id for the send just recorded")
        return int(result.lastrowid)
    count, oldest = connection.execute(REPEATS_SEEN, repeats).one()
    retry = _seconds((oldest.replace(tzinfo=UTC).timestamp() - since) * 1000) if oldest is not None else 1
    raise TooBusy(
        f"the same {send.kind} went to {send.conversation} {count} times in the last {REPEAT_WINDOW_S:g} s "
        f"(SEND_REPEAT_LIMIT {pacing.repeat_limit}): not sent",
        retry,
        "repeat",
    )


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


def _now_ms() -> int:
    return int(time.time() * 1000)


def _naive_utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _seconds(ms: float) -> int:
    return max(1, math.ceil(ms / 1000))
