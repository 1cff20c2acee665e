"""Chores: upkeep that requests ask for but never wait on (trimming `events`, flushing counters).

A chore runs in a daemon thread of its own, started on first request (after gunicorn forks), inside an
app context. Requests only set a flag: asking costs no database work and cannot fail. Requests made while
the chore waits or runs are served by one more run, so a burst costs one run, not one per request. A chore
with a `delay` waits that long after being asked before it runs: what piles up meanwhile is done at once
(at most one run per `delay` seconds while requests keep coming, none when they stop).

A failure is logged in one line and waits for the next request; it never reaches the request that asked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app

from wxwork_demo.proxies import unproxied

log = logging.getLogger(__name__)

EXTENSION_KEY = "wxwork_chores"


class Chore:
    def __init__(self, app: Flask, name: str, work: Callable[[], object], delay: float = 0.0) -> None:
        self.app = app
        self.name = name
        self.work = work
        self.delay = delay
        self.runs = 0
        self._lock = threading.Lock()
        self._asked = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._busy = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Have the chore run soon (in its own thread); never blocks, never raises."""
        self._asked.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopping.is_set():
                    self._thread = threading.Thread(target=self._loop, name=f"chore-{self.name}", daemon=True)
                    self._thread.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until nothing is asked and nothing runs (tests and shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._asked.is_set() and not self._busy, timeout)

    def stop(self, finish: bool = True, timeout: float = 10.0) -> None:
        """Stop the thread; with `finish`, run the work once more here if it was asked for and not done."""
        pending = self._asked.is_set()
        self._stopping.set()
        self._asked.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if finish and pending:
            self._run_once()

    def _loop(self) -> None:
        while True:
            self._asked.wait()
            if self._stopping.is_set():
                return
            if self.delay and self._stopping.wait(self.delay):
                return
            with self._lock:
                self._asked.clear()
                self._busy = True
            try:
                self._run_once()
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()

    def _run_once(self) -> None:
        try:
            with self.app.app_context():
                self.work()
            self.runs += 1
        except Exception as exc:  # the next request tries again
            log.warning("chore %s failed: %s: %s", self.name, type(exc).__name__, _short(exc))


def _short(exc: Exception) -> str:
    """The first line of the error, without SQL parameters (payloads, secrets)."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:200] if str(exc) else ""


def chore(name: str, work: Callable[[], object], delay: float = 0.0) -> Chore:
    """This app's chore called `name` (made on first use, in the current process)."""
    chores: dict[str, Chore] = current_app.extensions.setdefault(EXTENSION_KEY, {})
    found = chores.get(name)
    if found is None:
        found = chores.setdefault(name, Chore(unproxied(current_app), name, work, delay))
    return found


def stop_chores(app: Flask, finish: bool = True) -> None:
    """Stop every chore of `app`, finishing what was asked (a worker's exit: counts are flushed)."""
    for found in list(app.extensions.get(EXTENSION_KEY, {}).values()):
        found.stop(finish=finish)
