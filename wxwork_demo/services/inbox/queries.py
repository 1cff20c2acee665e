"""Reading the inbox: the messages of an account (paged by id), one message, its conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select

from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.models import Message, table_of
from wxwork_demo.services.inbox.parsing import safe_ids
from wxwork_demo.services.instances.registry import active_instance, find_instance

# What the queries hand to views and commands: a stored message, as a mapped object (one message) or as a row of
# the columns it shows (a page); they read its fields by name, never query with it.
MessageRow = Message | Row[Any]

# A page of messages is read as rows of the columns it shows (in this order), not as `Message` objects:
# at 50 rows the ORM's objects (identity map, instance state, attribute events) cost about as much as the
# driver's decoding of the rows (notes: /work/notes/msgs.md).
_SHOWN_KEYS = (
    "id",
    "account",
    "uuid",
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
_MESSAGES = table_of(Message)
# The columns a message shows, `id` first: the pages here and the forwarding worker's bodies read these.
SHOWN = tuple(_MESSAGES.c[key] for key in _SHOWN_KEYS)
_PAGE = select(*SHOWN)  # built once: each request's filters make a copy


@dataclass(frozen=True)
class MessageFilter:
    """What `GET /api/messages` asks for; empty values filter nothing."""

    account: str = ""
    uuid: str = ""
    conversation: str = ""
    after: int = 0
    before: int = 0
    limit: int = 50
    type: int | None = None
    msgtype: int | None = None
    q: str = ""


def scope(account: str, uuid: str) -> tuple[str, str]:
    """(account, uuid) to filter by: `account` as given, else the account of `uuid` (default: the active
    instance), so that the messages of an account follow it across reconnects (new uuids)."""
    if account:
        return account, ""
    row = find_instance(uuid) if uuid else active_instance()
    if row is not None and row.vid:
        return row.vid, ""
    return "", uuid


def iso_precise(moment: datetime | None) -> str:
    """ISO-8601 UTC with milliseconds (arrival times are compared to the millisecond by receivers)."""
    return moment.isoformat(timespec="milliseconds") + "Z" if moment else ""


def message_to_dict(row: MessageRow) -> dict[str, Any]:
    """The contract's `Message` of a stored message, or of a row of `list_messages` (its columns in `_SHOWN_KEYS`
    order): every upstream id a string, big numbers inside `payload` too."""
    # A page's row is unpacked by position: its attributes by name cost more than the rest of this (SQLAlchemy
    # 2.1: 15 us of 25 us per row).
    values = tuple(row) if isinstance(row, Row) else tuple(getattr(row, key) for key in _SHOWN_KEYS)
    (
        message_id,
        account,
        uuid,
        type_code,
        msgtype,
        conversation,
        is_room,
        sender,
        receiver,
        content,
        msg_id,
        server_id,
        send_time,
        received_at,
        is_sync,
        at_list,
        media,
        payload,
    ) = values
    return {
        "id": message_id,
        "uuid": uuid,
        "account": account,
        "type": type_code,
        "msgtype": msgtype,
        "conversation": conversation,
        "isRoom": bool(is_room),
        "sender": sender,
        "receiver": receiver,
        "content": content or "",
        "msgId": msg_id,
        "serverId": str(server_id) if server_id else "",
        "sendTime": send_time.isoformat(timespec="seconds") + "Z" if send_time else "",
        "receivedAt": iso_precise(received_at),
        "isSync": bool(is_sync),
        "atList": safe_ids(at_list or []),
        "media": safe_ids(media) if media else None,
        "payload": safe_ids(payload if isinstance(payload, dict) else {}),
    }


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# MariaDB answers `account = ? AND id < ? ORDER BY id DESC LIMIT n` with a `ref` lookup on the account alone,
# reading every message of the account older than the page (42 ms at 50,000 of them), where the range on
# (account, id) reads the page (1.0 ms; bench/forwarding.py "page further back"): the index is named.
_ACCOUNT = "idx_messages_account_id"
_ACCOUNT_CONVERSATION = "idx_messages_account_conversation_id"


def list_messages(wanted: MessageFilter) -> tuple[list[Row[Any]], int | None, bool]:
    """(messages newest first, `next` cursor for the older page or None, whether newer ones remain).

    `before=` pages back from the newest. `after=` returns the oldest `limit` messages newer than that id
    (newest first in the page), so a reader polling with the newest id it has sees every message once;
    `more` says that newer ones remain beyond the page.
    """
    c = _MESSAGES.c
    query = _PAGE
    if wanted.account:
        query = query.where(c.account == wanted.account).with_hint(
            _MESSAGES, f"FORCE INDEX ({_ACCOUNT_CONVERSATION if wanted.conversation else _ACCOUNT})", "mysql"
        )
    elif wanted.uuid:
        query = query.where(c.uuid == wanted.uuid)
    if wanted.conversation:
        query = query.where(c.conversation == wanted.conversation)
    if wanted.type is not None:
        query = query.where(c.type == wanted.type)
    if wanted.msgtype is not None:
        query = query.where(c.msgtype == wanted.msgtype)
    if wanted.q:
        query = query.where(c.content.like(f"%{_escape_like(wanted.q)}%", escape="\\"))
    if wanted.before:
        query = query.where(c.id < wanted.before)
    # A Core statement on the session's connection (its transaction): the session's ORM execution path, which a
    # statement of table columns does not need, cost 0.2 ms of CPU more per page.
    connection = db_session().connection()
    if wanted.after:
        rows = list(connection.execute(query.where(c.id > wanted.after).order_by(c.id).limit(wanted.limit + 1)))
        more = len(rows) > wanted.limit
        return list(reversed(rows[: wanted.limit])), None, more
    rows = list(connection.execute(query.order_by(c.id.desc()).limit(wanted.limit + 1)))
    page = rows[: wanted.limit]
    following = page[-1].id if len(rows) > wanted.limit else None
    return page, following, False


def messages_since(account: str, after: int, limit: int) -> tuple[list[Row[Any]], bool]:
    """For `messages tail`: the messages newer than id `after` (the newest `limit` when `after` is 0), oldest
    first, and whether newer ones remain. Ends its read transaction: the next call sees what arrived since."""
    rows, _, more = list_messages(MessageFilter(account=account, after=after, limit=limit))
    db_session().close()  # the rows keep what was loaded
    return list(reversed(rows)), more


def get_message(message_id: int) -> Message:
    row = db_session().get(Message, message_id)
    if row is None:
        raise AppError(404, f"no message with id {message_id}")
    return row


def list_conversations(account: str = "", uuid: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """The conversations of an account, the most recently active first, each with its last message."""
    last_id = func.max(Message.id).label("last_id")
    query = (
        select(Message.conversation, last_id, func.count().label("count"))
        .where(Message.conversation != "")
        .group_by(Message.conversation)
        .order_by(last_id.desc())
        .limit(limit)
    )
    if account:
        query = query.where(Message.account == account)
    elif uuid:
        query = query.where(Message.uuid == uuid)
    session = db_session()
    found = session.execute(query).all()
    last = {row.id: row for row in session.scalars(select(Message).where(Message.id.in_([f.last_id for f in found])))}
    conversations = []
    for conversation, message_id, count in found:
        message = last.get(message_id)
        if message is None:  # trimmed between the two reads
            continue
        conversations.append(
            {
                "id": conversation,
                "isRoom": bool(message.is_room),
                "title": _title(message),
                "lastMessage": message_to_dict(message),
                "count": int(count),
            }
        )
    return conversations


def _title(message: Message) -> str:
    """A name for the conversation when the message carries one (the peer's `sender_name`), else its id."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    name = payload.get("room_name") or payload.get("nickname")
    if not name and not message.is_room and message.sender == message.conversation:
        name = payload.get("sender_name")
    return str(name or message.conversation)


def newest_server_id(account: str, window: int = 1000) -> int | None:
    """The highest `server_id` among the account's newest `window` messages (catch-up resumes there).

    Replays arrive with older server_ids after live ones: the maximum over a window, not the last row.
    """
    newest = (
        select(Message.server_id)
        .where(Message.account == account, Message.server_id.is_not(None))
        .order_by(Message.id.desc())
        .limit(window)
        .subquery()
    )
    found = db_session().scalar(select(func.max(newest.c.server_id)))
    return None if found is None else int(found)
