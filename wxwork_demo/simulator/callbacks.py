"""Callback delivery: POSTs `{"uuid", "json", "type"}` to the registered URL from background threads.

Delivery never happens inside the request that caused the event, so a single-threaded receiver that is
itself calling the simulator cannot deadlock. Each instance is pinned to one worker thread, which keeps
the callbacks of one instance in order while different instances are delivered in parallel.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)

# Enough history for a test or the control page; old attempts fall off the end.
_LOG_SIZE = 20_000


@dataclass(frozen=True)
class Delivery:
    """One callback to deliver; `url` is captured when the event happens, as upstream would."""

    delivery_id: int
    uuid: str
    url: str | None
    type: int
    payload: dict[str, Any]

    def body(self) -> bytes:
        """The wire body: payload serialised into a JSON *string* inside the JSON wrapper (§4)."""
        wrapper = {"uuid": self.uuid, "json": json.dumps(self.payload, ensure_ascii=False), "type": self.type}
        return json.dumps(wrapper, ensure_ascii=False).encode("utf-8")


# (generation at enqueue time, delivery), or None to stop a worker.
_QueueItem = tuple[int, Delivery] | None


class CallbackDispatcher:
    """Queues callbacks and delivers them with retries, logging every attempt."""

    def __init__(self, retries: int, retry_delay: float, timeout: float, workers: int) -> None:
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self._worker_count = workers
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._log: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self._queues: list[queue.Queue[_QueueItem]] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        # Bumped by clear(): deliveries queued before a reset are dropped instead of delivered.
        self._generation = 0
        self._pending = 0
        # The "lost callbacks" switch (drop_for): until this monotonic time, callbacks of these types are
        # never sent, as when the app was down and the upstream does not retry.
        self._dropping_until = 0.0
        self._drop_types: frozenset[int] = frozenset()
        self._dropped = 0

    def drop_for(self, seconds: float, types: frozenset[int] = frozenset({102000})) -> None:
        """Lose every callback of `types` for `seconds` (0 ends it now)."""
        with self._lock:
            self._dropping_until = time.monotonic() + max(0.0, seconds)
            self._drop_types = types

    def dropping(self) -> dict[str, Any]:
        with self._lock:
            left = max(0.0, self._dropping_until - time.monotonic())
            return {"seconds": round(left, 3), "types": sorted(self._drop_types), "dropped": self._dropped}

    def enqueue(self, uuid: str, url: str | None, type_: int, payload: dict[str, Any]) -> Delivery:
        """Schedule one callback; returns immediately."""
        delivery = Delivery(next(self._ids), uuid, url, type_, payload)
        with self._lock:
            if type_ in self._drop_types and time.monotonic() < self._dropping_until:
                self._dropped += 1
                self._log.append(
                    {
                        "id": delivery.delivery_id,
                        "attempt": 0,
                        "uuid": uuid,
                        "type": type_,
                        "url": url,
                        "status": None,
                        "ok": False,
                        "error": "dropped",
                        "time": time.time(),
                        "payload": payload,
                    }
                )
                return delivery
        self._ensure_started()
        shard = zlib.crc32(uuid.encode()) % self._worker_count
        with self._lock:
            if not self._queues:  # already shut down: nothing will deliver it
                return delivery
            self._pending += 1
            generation = self._generation
            target = self._queues[shard]
        target.put((generation, delivery))
        return delivery

    def attempts(self, uuid: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Logged attempts, oldest first, optionally for one uuid and only the last `limit`."""
        with self._lock:
            entries = [e for e in self._log if uuid is None or e["uuid"] == uuid]
        return entries[-limit:] if limit else entries

    def pending(self) -> int:
        """Callbacks queued or being delivered right now."""
        with self._lock:
            return self._pending

    def clear(self) -> None:
        """Forget the log and drop everything not yet delivered."""
        with self._lock:
            self._generation += 1
            self._log.clear()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the worker threads (queued deliveries are dropped)."""
        self._stop.set()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self._queues = []

    def _ensure_started(self) -> None:
        # Threads start on first use so that merely creating an app costs no threads.
        with self._lock:
            if self._threads or self._stop.is_set():
                return
            for index in range(self._worker_count):
                q: queue.Queue[_QueueItem] = queue.Queue()
                name = f"sim-callbacks-{index}"
                thread = threading.Thread(target=self._run, args=(q,), name=name, daemon=True)
                self._queues.append(q)
                self._threads.append(thread)
                thread.start()

    def _run(self, q: queue.Queue[_QueueItem]) -> None:
        session = requests.Session()
        try:
            while not self._stop.is_set():
                item = q.get()
                if item is None:
                    return
                generation, delivery = item
                try:
                    with self._lock:
                        current = generation == self._generation
                    if current:
                        self._deliver(session, delivery, generation)
                finally:
                    with self._lock:
                        self._pending -= 1
        finally:
            session.close()

    def _deliver(self, session: requests.Session, delivery: Delivery, generation: int) -> None:
        if not delivery.url:
            self._record(delivery, 1, generation, status=None, error="no callback url registered")
            return
        body = delivery.body()
        for attempt in range(1, self.retries + 2):
            with self._lock:
                if generation != self._generation:  # reset meanwhile: stop retrying
                    return
            status: int | None = None
            error: str | None = None
            try:
                response = session.post(
                    delivery.url,
                    data=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=self.timeout,
                )
                status = response.status_code
                response.close()
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._record(delivery, attempt, generation, status=status, error=error)
            if error is None:
                return
            if attempt <= self.retries and self._stop.wait(self.retry_delay * attempt):
                return
        log.warning("callback %s type %s to %s gave up", delivery.delivery_id, delivery.type, delivery.url)

    def _record(
        self, delivery: Delivery, attempt: int, generation: int, *, status: int | None, error: str | None
    ) -> None:
        entry = {
            "id": delivery.delivery_id,
            "attempt": attempt,
            "uuid": delivery.uuid,
            "type": delivery.type,
            "url": delivery.url,
            "status": status,
            "ok": error is None,
            "error": error,
            "time": time.time(),
            "payload": delivery.payload,
        }
        with self._lock:
            if generation == self._generation:
                self._log.append(entry)
