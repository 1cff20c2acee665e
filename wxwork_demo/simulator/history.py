"""Every incoming message per account, delivered or not, for `SyncAllData` (upstream-api-more.md §5).

The upstream keeps the account's messages on its side: `SyncAllData {"uuid", "limit", "seq"}` pushes those
after `seq` again as callbacks with `issync: true`. The docs do not say whether `seq` itself is included;
this simulator replays strictly newer messages (`server_id > seq`), the reading that a client persisting
"the last server_id seen" expects.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

# Per account; a benchmark can push far more than a catch-up test replays.
KEEP_PER_ACCOUNT = 20_000


class MessageHistory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_account: dict[int, deque[dict[str, Any]]] = {}

    def add(self, account_id: int, payload: dict[str, Any]) -> None:
        with self._lock:
            self._by_account.setdefault(account_id, deque(maxlen=KEEP_PER_ACCOUNT)).append(payload)

    def after(self, account_id: int, seq: int, limit: int) -> list[dict[str, Any]]:
        """The account's messages with server_id > seq, oldest first, at most `limit`."""
        with self._lock:
            kept = list(self._by_account.get(account_id, ()))
        newer = sorted((m for m in kept if int(m.get("server_id") or 0) > seq), key=lambda m: m["server_id"])
        return newer[:limit]

    def clear(self) -> None:
        with self._lock:
            self._by_account.clear()
