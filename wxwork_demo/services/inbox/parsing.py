"""A callback's payload → the columns of its `messages` row.

The payload shapes are the vendor's (upstream-api.md §4.2, upstream-api-more.md §2, §6). Upstream ids (user
ids, room ids, msg_id, server_id) are kept as decimal strings: room ids are larger than 2^53, and a JSON
number that large loses digits in every JavaScript client.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

MESSAGE = 102000
# Callbacks kept in the inbox: messages and the other non-login callbacks of upstream-api-more.md §6.
INBOX_TYPES = frozenset(
    {
        MESSAGE,
        100006,
        102001,
        102002,
        102004,
        102005,
        102006,
        *range(115001, 115010),
        116001,
        116002,
        130001,
        130002,
    }
)
# msgtype values that carry a file (upstream-api-more.md §2): 14 image, 15 file, 16 voice, 20 big file,
# 23 video from colleagues; 101/102/103 image/file/video and 104 GIF from WeChat users.
MEDIA_MSGTYPES = frozenset({14, 15, 16, 20, 23, 101, 102, 103, 104})
# Where a room id may be, by callback kind: messages name it `room_conversation_id`; the docs show room
# events (115xxx) with `room_id` or `roomid`.
ROOM_KEYS = ("room_conversation_id", "room_id", "roomid", "roomId")
MAX_SAFE_INTEGER = 2**53


def id_text(value: Any) -> str:
    """An upstream id as a decimal string ("" for none, 0 included: `receiver` is 0 in rooms)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        value = int(value)
    text = str(value).strip()
    return "" if text in ("", "0") else text[:64]


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    seconds = _int_or_none(value)
    if not seconds or seconds < 0 or seconds > 32503680000:  # beyond the year 3000: not a time
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)


def message_key(type_code: int, payload: dict[str, Any]) -> str:
    """What makes two callbacks the same message for one account.

    The upstream's own ids: `server_id`, else `msg_id`. A redelivery, a duplicate delivery (`referid` ≠ 0)
    and a `SyncAllData` replay (`issync`) carry the ids of the message they repeat. A callback without
    ids (friend requests, room events) is identified by its whole content.
    """
    server_id = id_text(payload.get("server_id"))
    if server_id:
        return f"s:{server_id}"
    msg_id = id_text(payload.get("msg_id"))
    if msg_id:
        return f"m:{msg_id}"
    basis = json.dumps([type_code, payload], sort_keys=True, ensure_ascii=False, default=str)
    return "h:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def conversation_of(payload: dict[str, Any], account: str) -> tuple[str, bool]:
    """(conversation, is_room): the room id in rooms, else the other person of a one-to-one chat."""
    room = next((id_text(payload.get(key)) for key in ROOM_KEYS if id_text(payload.get(key))), "")
    if _flag(payload.get("is_room")) or room:
        return room, True
    sender = id_text(payload.get("sender"))
    receiver = id_text(payload.get("receiver"))
    # The account's own messages sent from the phone also arrive: then the peer is the receiver.
    if account and sender == account:
        return receiver, False
    return sender or receiver, False


def media_of(msgtype: int | None, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The file fields of a media message (what a download needs), or None."""
    if msgtype not in MEDIA_MSGTYPES and not payload.get("file_id"):
        return None
    return {
        "fileId": _text(payload.get("file_id")),
        "aesKey": _text(payload.get("aes_key")),
        "md5": _text(payload.get("md5")),
        "fileSize": _int_or_none(payload.get("file_size") or payload.get("size")) or 0,
        "fileName": _text(payload.get("file_name")),
        "authKey": _text(payload.get("openim_cdn_authkey")),
    }


def message_row(
    uuid: str, account: str, type_code: int, payload: dict[str, Any], received_at: datetime
) -> dict[str, Any]:
    """The column values of the `messages` row of one callback."""
    msgtype = _int_or_none(payload.get("msgtype", payload.get("msgType")))
    conversation, is_room = conversation_of(payload, account)
    at_list = payload.get("atList", payload.get("at_list"))
    return {
        "account": account[:64],
        "uuid": uuid[:64],
        "message_key": message_key(type_code, payload),
        "type": type_code,
        "msgtype": msgtype,
        "conversation": conversation,
        "is_room": is_room,
        "sender": id_text(payload.get("sender")),
        "receiver": id_text(payload.get("receiver")),
        "content": _text(payload.get("content")),
        "msg_id": id_text(payload.get("msg_id")),
        "server_id": _int_or_none(payload.get("server_id")) or None,
        "send_time": _time(payload.get("send_time", payload.get("sendtime"))),
        "received_at": received_at,
        "is_sync": _flag(payload.get("issync")),
        "at_list": at_list if isinstance(at_list, list) else [],
        "media": media_of(msgtype, payload),
        "payload": payload,
    }


def safe_ids(value: Any) -> Any:
    """A copy of `value` where every integer beyond 2^53 is a string (no id is ever a lossy JSON number)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > MAX_SAFE_INTEGER else value
    if isinstance(value, dict):
        return {key: safe_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [safe_ids(item) for item in value]
    return value
