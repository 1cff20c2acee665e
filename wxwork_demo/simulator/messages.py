"""Message ids, the SendTextMsg echo (§2.12), incoming 102000 payloads (§4.2) and the sent-message store."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from typing import Any

# Sent messages kept for inspection; a benchmark can send far more than a test needs to read back.
_SENT_KEEP = 100_000
# The room of the docs' room-message sample (21-callback-message, 内部联系人图片消息).
DEFAULT_ROOM_ID = "10817857838351957"


class MessageFactory:
    """Issues increasing msg_id/server_id values and builds message payloads."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"messages:{seed}")
        self._msg_id = 1011720
        self._server_id = 7130717

    def next_ids(self) -> tuple[int, int, str]:
        with self._lock:
            self._msg_id += 1
            self._server_id += self._rng.randint(1, 5)
            app_info = str(self._rng.randrange(10**18, 10**19))
            return self._msg_id, self._server_id, app_info

    def sent_echo(self, sender: int, receiver: int, is_room: bool, content: str) -> dict[str, Any]:
        """The `data` SendTextMsg answers with: the message as upstream stored it."""
        msg_id, server_id, app_info = self.next_ids()
        return {
            "receiver": receiver,
            "sender": sender,
            "at_list": [],
            "sender_name": "",
            "app_info": f"from_msgid_{app_info}",
            "is_room": 1 if is_room else 0,
            "sendtime": int(time.time()),
            "msg_id": msg_id,
            "server_id": server_id,
            "msgtype": 2,
            "content": content,
        }

    def sent(self, sender: int, target: int, is_room: bool, msgtype: int, fields: dict[str, Any]) -> dict[str, Any]:
        """The `data` the other send actions answer with. In a room `receiver` is 0 and the room is
        `room_conversation_id`, a number as in SendTextAtMsg's sample (callbacks carry it as a string)."""
        msg_id, server_id, app_info = self.next_ids()
        echo: dict[str, Any] = {
            "receiver": 0 if is_room else target,
            "sender": sender,
            "sender_name": "",
            "app_info": f"from_msgid_{app_info}",
            "is_room": 1 if is_room else 0,
            "sendtime": int(time.time()),
            "msg_id": msg_id,
            "server_id": server_id,
            "msgtype": msgtype,
        }
        if is_room:
            echo["room_conversation_id"] = target
        echo.update(fields)
        return echo

    def incoming(
        self,
        *,
        receiver: int,
        sender: int,
        content: str,
        is_room: bool,
        room_conversation_id: str | None,
        msgtype: int,
        sender_name: str = "",
    ) -> dict[str, Any]:
        """A type-102000 payload for a message the account receives."""
        msg_id, server_id, app_info = self.next_ids()
        payload: dict[str, Any] = {
            "flag": 16777216,
            "kf_id": 0,
            # In a room the receiver is 0 and the room is `room_conversation_id` (21-callback-message).
            "receiver": 0 if is_room else receiver,
            "sender_name": sender_name,
            "is_room": 1 if is_room else 0,
            "server_id": server_id,
            "content": content,
            "issync": False,
            "send_time": int(time.time()),
            "sender": sender,
            "referid": 0,
            "app_info": app_info,
            "readuinscount": 0,
            "msg_id": msg_id,
            "msgtype": msgtype,
            "atList": [],
        }
        if is_room:
            # Room ids are numeric strings larger than 2^53 (upstream-api-more.md §3).
            payload["room_conversation_id"] = room_conversation_id or DEFAULT_ROOM_ID
        return payload


class SentStore:
    """What the send actions received, for RevokeMsg, tests and the control page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: deque[dict[str, Any]] = deque(maxlen=_SENT_KEEP)
        self._by_msg_id: dict[Any, dict[str, Any]] = {}  # by the msg_id the message was given
        self._total = 0

    def add(self, message: dict[str, Any]) -> None:
        """Remember one sent message (with its `msg_id`, so it can be revoked)."""
        with self._lock:
            if len(self._messages) == self._messages.maxlen:
                self._by_msg_id.pop(self._messages[0].get("msg_id"), None)
            self._messages.append(message)
            self._by_msg_id[message.get("msg_id")] = message
            self._total += 1

    def find(self, msg_id: int | None) -> dict[str, Any] | None:
        """The sent message with this msg_id, while it is kept."""
        with self._lock:
            return self._by_msg_id.get(msg_id)

    def mark_revoked(self, message: dict[str, Any]) -> bool:
        """Note that `message` was revoked; False when it already was."""
        with self._lock:
            if message.get("revoked_at") is not None:
                return False
            message["revoked_at"] = time.time()
            return True

    def list(self, uuid: str | None = None, limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
        """(total ever sent, kept messages oldest first, filtered by uuid and cut to the last `limit`)."""
        with self._lock:
            items = [m for m in self._messages if uuid is None or m["uuid"] == uuid]
            total = self._total
        return total, (items[-limit:] if limit else items)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._messages.clear()
            self._by_msg_id.clear()
            self._total = 0
