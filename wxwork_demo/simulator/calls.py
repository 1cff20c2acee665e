"""Counts of upstream calls per action and per uuid, plus a short log of the latest ones."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from typing import Any

_RECENT_KEEP = 500


class CallLog:
    """Thread-safe call counters; a test reads them to see how often the product polled each uuid."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset_locked()

    def _reset_locked(self) -> None:
        self._total = 0
        self._by_action: Counter[str] = Counter()
        self._by_uuid: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._recent: deque[dict[str, Any]] = deque(maxlen=_RECENT_KEEP)

    def record(self, action: str, uuid: str | None) -> None:
        """Count a call as soon as it arrives (so hung or refused calls count too)."""
        with self._lock:
            self._total += 1
            self._by_action[action] += 1
            if uuid:
                self._by_uuid[uuid][action] += 1

    def finish(self, action: str, uuid: str | None, outcome: dict[str, Any]) -> None:
        """Log how a call ended: HTTP status, errcode, fault applied."""
        entry = {"time": time.time(), "action": action, "uuid": uuid, **outcome}
        with self._lock:
            self._recent.append(entry)

    def snapshot(self, uuid: str | None = None) -> dict[str, Any]:
        """Totals per action and per uuid (or just one uuid's counts) and the latest calls."""
        with self._lock:
            by_uuid = {u: dict(c) for u, c in self._by_uuid.items() if uuid is None or u == uuid}
            recent = [e for e in self._recent if uuid is None or e["uuid"] == uuid]
            return {
                "total": self._total,
                "by_action": dict(self._by_action),
                "by_uuid": by_uuid,
                "recent": recent,
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._reset_locked()
