"""Fault injection for `/wxwork/*` calls: latency, HTTP 500, hangs, non-JSON bodies and refused connections.

One fault is active at a time. It affects the next `count` upstream calls (optionally only some actions),
then switches itself off; `count == -1` keeps it on until cleared. Control routes (`/_sim/*`) are never
affected, so a test can always clear a fault it set.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

FAULT_MODES = ("latency", "http500", "hang", "nonjson", "refuse")
DEFAULT_HANG_SECONDS = 30.0

# The API view sets this WSGI environ key; RefuseMiddleware then drops the connection unanswered.
REFUSE_ENVIRON_KEY = "wxwork_simulator.refuse"


@dataclass
class Fault:
    """The active fault and how many more calls it will affect (-1 = until cleared)."""

    mode: str
    count: int = -1
    latency_ms: int = 0
    hang_s: float = DEFAULT_HANG_SECONDS
    actions: tuple[str, ...] | None = None

    def applies_to(self, action: str) -> bool:
        """Whether a call of `action` is affected."""
        return self.actions is None or action in self.actions

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control surface."""
        data = asdict(self)
        data["actions"] = list(self.actions) if self.actions is not None else None
        return data


class FaultInjector:
    """Holds the active fault, hands it out per call, and can release hung requests early."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        # Hung requests wait on this event; clear() sets it and installs a fresh one for later faults.
        self._release = threading.Event()

    def configure(self, spec: dict[str, Any]) -> Fault:
        """Install a fault from a control request body; raises ValueError on a bad spec."""
        mode = spec.get("mode")
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
        count = int(spec.get("count", -1))
        if count == 0 or count < -1:
            raise ValueError("count must be a positive number or -1 (until cleared)")
        actions = spec.get("actions")
        if actions is not None:
            if isinstance(actions, str) or not isinstance(actions, Iterable):
                raise ValueError("actions must be a list of action names")
            actions = tuple(str(a) for a in actions)
        latency_ms = int(spec.get("latency_ms") or 0)
        hang_s = float(spec["hang_s"]) if spec.get("hang_s") is not None else DEFAULT_HANG_SECONDS
        if latency_ms < 0 or hang_s < 0:
            raise ValueError("latency_ms and hang_s must be >= 0")
        fault = Fault(mode=mode, count=count, latency_ms=latency_ms, hang_s=hang_s, actions=actions)
        with self._lock:
            # A new fault replaces the old one entirely, including requests the old one still holds.
            self._fault = fault
            self._release.set()
            self._release = threading.Event()
        return fault

    def clear(self) -> None:
        """Switch the fault off and wake every request currently hanging or delayed by it."""
        with self._lock:
            self._fault = None
            self._release.set()
            self._release = threading.Event()

    def current(self) -> Fault | None:
        """The active fault, if any (a copy, safe to serialise)."""
        with self._lock:
            return Fault(**asdict(self._fault)) if self._fault else None

    def take(self, action: str) -> tuple[Fault, threading.Event] | None:
        """Claim the fault for one call of `action`, decrementing its count.

        Returns the fault to apply and the event that releases its waits early, or None.
        """
        with self._lock:
            fault = self._fault
            if fault is None or not fault.applies_to(action):
                return None
            claimed = Fault(**asdict(fault))
            if fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self._fault = None
            return claimed, self._release


class RefusedByFault(ConnectionAbortedError):
    """Raised past Flask so the server drops the connection without sending any HTTP response."""


class RefuseMiddleware:
    """WSGI wrapper that turns the refuse marker into a dropped connection.

    Flask would turn any exception raised in a view into an HTTP 500, so the view only marks the
    environ and this wrapper, which sits outside Flask, does the dropping: it shuts the client socket
    down (werkzeug and gunicorn expose it in the environ) and raises, so nothing is ever written.
    """

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        result = self.wsgi_app(environ, start_response)
        if not environ.get(REFUSE_ENVIRON_KEY):
            return result
        if hasattr(result, "close"):
            result.close()
        sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
        if isinstance(sock, socket.socket):
            # The client may already be gone; either way it gets no answer.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise RefusedByFault("connection refused by simulator fault")
