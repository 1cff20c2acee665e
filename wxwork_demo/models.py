"""Typed models of the `sessions` and `events` tables, column for column as the seed's DDL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, MetaData, String, Table, Text, false
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT AUTO_INCREMENT on MySQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
Payload = JSON().with_variant(sqlite.JSON(), "sqlite")
# Sub-second times where the monitor compares them (MySQL's plain DATETIME drops the fraction).
PreciseTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def utcnow() -> datetime:
    """Naive UTC, the way DATETIME columns store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso_utc(moment: datetime | None) -> str:
    """ISO-8601 in UTC with a `Z`, as the API shows times; empty for no time."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else ""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The model's Table, for Core statements (bulk inserts, range deletes).

    SQLAlchemy types `__table__` as any FromClause, since a model may be mapped to a join or a select; ours
    are each mapped to one table.
    """
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


class Instance(Base):
    """One upstream client instance (`uuid`) and the account (`vid`) it is logged in as."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("uk_uuid", "uuid", unique=True),
        Index("idx_updated_at", "updated_at"),
        Index("idx_state", "state"),
        Index("idx_next_action_at", "next_action_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(64), nullable=False)
    vid: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    is_login: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    qrcode: Mapped[str | None] = mapped_column(LongText)
    qrcode_key: Mapped[str | None] = mapped_column(String(128), default="", server_default="")
    last_event: Mapped[str | None] = mapped_column(String(255), default="", server_default="")
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    # Added by migration 0002 (keeping accounts online); see services/instances/state.py for the states.
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="initialised", server_default="initialised")
    state_reason: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    state_changed_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    account_name: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    corp_name: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    avatar: Mapped[str] = mapped_column(String(512), nullable=False, default="", server_default="")
    qrcode_expires_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    reconnect_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_action: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    next_action_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    callback_registered_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    alerted_at: Mapped[datetime | None] = mapped_column(PreciseTime)

    # Added by migration 0004: the init's proxy settings, encrypted (services/instances/proxy_vault.py).
    proxy_sealed: Mapped[str | None] = mapped_column(Text)
    # The latest ban or restriction notice (102000 msgtype 1011, 102001, 102002) and getBanDetile's words.
    notice_kind: Mapped[str] = mapped_column(String(16), nullable=False, default="", server_default="")
    notice_text: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    notice_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    notice_detail: Mapped[str | None] = mapped_column(Text)
    # Online by the upstream's word, but no callback since then (SILENCE_ALERT_S): "online but deaf".
    silent_since: Mapped[datetime | None] = mapped_column(PreciseTime)


class Event(Base):
    """One upstream call, callback or monitor step, kept for the console and for debugging."""

    __tablename__ = "events"
    __table_args__ = (
        Index("idx_created_at", "created_at"),
        Index("idx_session_uuid", "session_uuid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_uuid: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    stage: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    event_type: Mapped[str | None] = mapped_column(String(64), default="", server_default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(Payload)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class MonitorLease(Base):
    """The single monitor's lease and switch, shared by every process that runs a scheduler."""

    __tablename__ = "monitor_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=false())
    owner: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    expires_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    pass_started_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    pass_finished_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    last_reconnect_at: Mapped[datetime | None] = mapped_column(PreciseTime)


class AppSecret(Base):
    """A generated secret that protects nothing else, shared by every process (the callback token).

    Never a key: the app key lives in SECRET_KEY or the instance key file (services/secrets.py)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), nullable=False)


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class CallbackKey(Base):
    """One row per callback taken in: a redelivery finds its key and is not stored again."""

    __tablename__ = "callback_keys"
    __table_args__ = (Index("idx_callback_keys_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)


class ConsoleLogin(Base):
    """One console sign-in: its nonce is in the signed cookie, and deleting the row (logout) revokes it."""

    __tablename__ = "console_logins"
    __table_args__ = (Index("idx_console_logins_created_at", "created_at"),)

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)


class SigninAttempt(Base):
    """One try of the console password, by client address: the throttle counts them across workers."""

    __tablename__ = "signin_attempts"
    __table_args__ = (
        Index("idx_signin_attempts_client", "client", "created_at"),
        Index("idx_signin_attempts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)


# Sending more than text (migration 0009): rooms, friend requests, what we sent, and the pace of sending.


class RoomList(Base):
    """An account's rooms as GetSessionRoomList last listed them (every page), kept for GET /api/rooms.

    `changed_at` is set by the room callbacks (115001-115009): a list fetched before it is stale."""

    __tablename__ = "room_lists"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    rooms: Mapped[list[dict[str, Any]] | None] = mapped_column(Payload)
    # When the fetch that produced `rooms` started (a change during the fetch makes it stale).
    fetched_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(PreciseTime)


class FriendRequest(Base):
    """A friend request to an account: from callback 116001 or GetApplyUserList, accepted with AgreeUser."""

    __tablename__ = "friend_requests"
    __table_args__ = (Index("idx_friend_requests_account_updated", "account", "updated_at"),)

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    applicant: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, default="", server_default="")
    avatar: Mapped[str] = mapped_column(String(512), nullable=False, default="", server_default="")
    # waiting, accepted or deleted (services/friends/requests.py)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="waiting", server_default="waiting")
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="", server_default="")
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)
    payload: Mapped[dict[str, Any] | None] = mapped_column(Payload)


class SentMessage(Base):
    """A message we sent (or are sending): its upstream ids for RevokeMsg, its digest for the loop guard."""

    __tablename__ = "sent_messages"
    __table_args__ = (
        Index("idx_sent_messages_account_msg", "account", "msg_id"),
        Index("idx_sent_messages_recent", "account", "conversation", "created_at"),
        Index("idx_sent_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64), nullable=False)
    uuid: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    conversation: Mapped[str] = mapped_column(String(64), nullable=False)
    is_room: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    summary: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    msg_id: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    server_id: Mapped[int | None] = mapped_column(BigInteger)
    # pending (its turn is taken), sent, failed, revoked
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", server_default="pending")
    created_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(PreciseTime)


class SendPacing(Base):
    """When an account may send next (milliseconds since the epoch), shared by every process."""

    __tablename__ = "send_pacing"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    turns: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class Message(Base):
    """One acknowledged message callback (and the other inbox callbacks), parsed: services/inbox/."""

    __tablename__ = "messages"
    __table_args__ = (
        # One row per message and account, whichever instance (uuid) it came through.
        Index("uq_messages_account_key", "account", "message_key", unique=True),
        Index("idx_messages_account_id", "account", "id"),
        Index("idx_messages_account_conversation_id", "account", "conversation", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    uuid: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    message_key: Mapped[str] = mapped_column(String(80), nullable=False)
    type: Mapped[int] = mapped_column(Integer, nullable=False)
    msgtype: Mapped[int | None] = mapped_column(Integer)
    conversation: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    is_room: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    sender: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    receiver: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    content: Mapped[str | None] = mapped_column(LongText)
    msg_id: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    server_id: Mapped[int | None] = mapped_column(BigInteger)
    send_time: Mapped[datetime | None] = mapped_column(DateTime)
    received_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)
    is_sync: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="0")
    at_list: Mapped[list[Any] | None] = mapped_column(Payload)
    media: Mapped[dict[str, Any] | None] = mapped_column(Payload)
    payload: Mapped[dict[str, Any] | None] = mapped_column(Payload)


class Delivery(Base):
    """One message to one forwarding target: the durable outbox (services/forwarding/)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("uq_deliveries_message_target", "message_id", "target", unique=True),
        Index("idx_deliveries_claim", "target", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    target: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    next_attempt_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)
    lease_owner: Mapped[str] = mapped_column(String(64), nullable=False, default="", server_default="")
    delivered_at: Mapped[datetime | None] = mapped_column(PreciseTime)
    created_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)


class AccountCursor(Base):
    """The newest `server_id` received per account: where `SyncAllData` resumes after a reconnect."""

    __tablename__ = "account_cursors"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_server_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(PreciseTime, nullable=False, default=utcnow)
