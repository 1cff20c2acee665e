"""The `Simulator` object: every stateful part of one simulator app, owned together."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from .callbacks import CallbackDispatcher
from .calls import CallLog
from .control_ops import ControlOperations
from .directory import Directory
from .faults import FaultInjector
from .messages import MessageFactory, SentStore
from .settings import SimulatorSettings
from .state import SimulatorState
from .upstream_ops import UpstreamOperations

EXTENSION_KEY = "wxwork_simulator"


class Simulator:
    """Settings, instance state, callback delivery, faults and logs of one simulator app."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.dispatcher = CallbackDispatcher(
            retries=settings.callback_retries,
            retry_delay=settings.callback_retry_delay,
            timeout=settings.callback_timeout,
            workers=settings.callback_workers,
        )
        self.directory = Directory(settings.seed, settings.contacts_inner_people, settings.contacts_external)
        self.messages = MessageFactory(settings.seed)
        self.sent = SentStore()
        self.calls = CallLog()
        self.faults = FaultInjector()
        self.state = SimulatorState(settings, self.dispatcher, self.directory, self.messages, self.sent)
        self.upstream = UpstreamOperations(self.state)
        self.control = ControlOperations(self.state)

    def reset(self) -> None:
        """Back to empty: no instances, accounts, faults, logs or queued callbacks."""
        self.faults.clear()
        self.state.reset()
        self.control.reset()
        self.dispatcher.clear()
        self.sent.clear()
        self.calls.reset()

    def shutdown(self) -> None:
        """Release hung requests and stop the background threads (sweeper, callback workers)."""
        self.faults.clear()
        self.state.shutdown()
        self.dispatcher.shutdown()

    def restart_upstream(self, down_s: float = 0.0) -> int:
        """The upstream service restarts: instances gone, device knowledge kept (自动登录重连流程).

        With `down_s`, connections are refused for that long first, as while a real service restarts.
        Returns how many instances were dropped.
        """
        dropped = self.control.restart_upstream()
        if down_s > 0:
            self.faults.configure({"mode": "refuse", "count": -1})
            self.state.schedule(down_s, self.faults.clear)
        return dropped

    def public_url(self, request_host_url: str) -> str:
        """Base URL for image links: the configured one, else the host the request came in on."""
        return self.settings.public_url or request_host_url.rstrip("/")


def simulator_of(app: Flask | None = None) -> Simulator:
    """The Simulator attached to `app` (default: the current Flask app)."""
    target: Any = app if app is not None else current_app
    return target.extensions[EXTENSION_KEY]
