"""The delivery worker: one loop per target, each with its own keep-alive connections and sender threads.

A target that is slow, refuses or never answers only ever holds its own loop: the intake never waits for
a delivery (it only writes outbox rows), and the other targets' loops go on. Each loop claims a round of
due rows (outbox.claim), posts them concurrently (FORWARD_CONCURRENCY), records the outcomes, and sleeps
when nothing is due, until woken by a new delivery written in this process or the poll interval.

Runs in the monitor's owner process (`gate`: while this process holds the monitor lease) and in
`flask forward run` (always). The retention trim of the inbox runs on the same worker, off every request path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3
from flask import Flask
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from sqlalchemy import select
from sqlalchemy.orm import Session
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from wxwork_demo.config import settings_of
from wxwork_demo.db import EXTENSION_KEY as DB_KEY
from wxwork_demo.models import Message
from wxwork_demo.services.forwarding import outbox
from wxwork_demo.services.forwarding.signing import encode_body, signed_headers
from wxwork_demo.services.inbox.queries import message_to_dict
from wxwork_demo.services.inbox.retention import trim_old_messages

log = logging.getLogger(__name__)

EXTENSION_KEY = "wxwork_delivery_worker"
# A claim takes this many rounds of sends at most, so its lease covers them even if each one times out.
ROUNDS_PER_CLAIM = 4
POLL_S = 0.2
LEASE_MARGIN_S = 5.0
RETENTION_EVERY_S = 600.0
RETENTION_FIRST_S = 5.0


def forward_document(message: Message) -> dict[str, Any]:
    """The body of a forwarded message (local-api.md, "Forwarding")."""
    shown = message_to_dict(message)
    return {
        "id": message.id,
        "type": message.type,
        "uuid": message.uuid,
        "account": message.account,
        "receivedAt": shown["receivedAt"],
        "message": shown,
    }


def post_signed(
    http: urllib3.PoolManager, url: str, delivery_id: str, body: bytes, secret: str, timeout: float
) -> tuple[int | None, str]:
    """(HTTP status or None, error text or "" for a delivery). Redirects are not followed: 3xx is a failure."""
    headers = signed_headers(secret, delivery_id, body)
    try:
        response = http.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            redirect=False,
        )
    except NewConnectionError as exc:  # before ConnectTimeoutError: urllib3 makes it a subclass of it
        return None, _connection_error(exc)
    except (ConnectTimeoutError, ReadTimeoutError):
        return None, f"no answer within {timeout:g} s"
    except (ProtocolError, SSLError) as exc:
        return None, _connection_error(exc)
    except HTTPError as exc:
        return None, f"{type(exc).__name__}"
    status = response.status
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def _connection_error(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection closed without an answer"
    if "name or service" in text or "resolve" in text:
        return "host name not found"
    return "connection failed"


def keep_alive_session(size: int) -> urllib3.PoolManager:
    """Keep-alive connections to the targets, `size` per target, kept open between rounds.

    urllib3 (what requests runs on) directly: requests' own per-call work (merging settings, preparing the
    request, hooks, cookies) cost about 0.6 ms of CPU per delivery, more than the rest of a delivery's work
    in the worker together (bench/forwarding.py, "CPU per delivery"). The behaviour stays requests': no retries
    of its own, no redirects followed, no proxy from the environment (the target is the user's own
    application), certificates checked against the same CA bundle.
    """
    return urllib3.PoolManager(num_pools=16, maxsize=size, retries=False, ca_certs=DEFAULT_CA_BUNDLE_PATH)


class TargetLoop:
    """Claims, sends and records the deliveries of one target."""

    def __init__(
        self, app: Flask, target: str, stop: threading.Event, wake: threading.Event, gate: Callable[[], bool]
    ) -> None:
        settings = settings_of(app)
        self.app = app
        self.target = target
        self.stop = stop
        self.wake = wake
        self.gate = gate
        self.secret = settings.forward_secret
        self.timeout = settings.forward_timeout_s
        self.concurrency = settings.forward_concurrency
        self.batch = self.concurrency * ROUNDS_PER_CLAIM
        # A lane starts no send after `budget_s`, so every send of a claim ends within budget_s + timeout; the
        # lease covers that with room to record the outcomes: no row is sent twice at the same time.
        self.budget_s = self.timeout * ROUNDS_PER_CLAIM
        self.lease_s = self.budget_s + self.timeout + LEASE_MARGIN_S
        self.max_attempts = settings.forward_max_attempts
        self.backoff = (settings.forward_backoff_s, settings.forward_backoff_max_s)
        self.engine = app.extensions[DB_KEY].engine

    def run(self) -> None:
        http = keep_alive_session(self.concurrency)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="forward-send")
        try:
            while not self.stop.is_set():
                try:
                    busy = self.gate() and self.round(http, pool)
                except Exception:  # the database may be down: the rows wait, nothing is lost
                    log.warning(
                        "forwarding to %s paused: round failed", outbox.shown_target(self.target), exc_info=True
                    )
                    self.stop.wait(1.0)
                    continue
                if not busy:
                    self.wake.wait(POLL_S)
                    self.wake.clear()
        finally:
            pool.shutdown(wait=True)
            http.clear()

    def round(self, http: urllib3.PoolManager, pool: ThreadPoolExecutor) -> bool:
        """One claim: send what it got and record the outcomes. False when nothing was due.

        The deliveries of one conversation go one after the other, in the order claimed (the order received,
        unless retries intervene); different conversations go in parallel.
        """
        claims = outbox.claim(self.engine, self.target, self.batch, self.lease_s)
        if not claims:
            return False
        bodies = self._bodies(claims)
        lanes: dict[str, list[outbox.Claim]] = {}
        for claim in claims:
            conversation = bodies[claim.message_id][0] if claim.message_id in bodies else ""
            lanes.setdefault(conversation, []).append(claim)

        started = time.monotonic()

        def send_in_order(lane: list[outbox.Claim]) -> list[outbox.Outcome]:
            """Until one fails (the rest then wait about as long, keeping their order) or the time budget of
            the claim is spent (the rest are handed back at once)."""
            outcomes: list[outbox.Outcome] = []
            for index, claim in enumerate(lane):
                if time.monotonic() - started > self.budget_s:
                    outcomes += [outbox.Outcome(c, None, "", skipped=True) for c in lane[index:]]
                    break
                if claim.message_id not in bodies:  # trimmed away meanwhile: nothing left to send
                    outcomes.append(outbox.Outcome(claim, None, "message no longer stored"))
                    continue
                body = bodies[claim.message_id][1]
                status, error = post_signed(http, self.target, str(claim.id), body, self.secret, self.timeout)
                outcomes.append(outbox.Outcome(claim, status, error))
                if error:
                    wait = outbox.backoff_delay(claim.attempts + 1, *self.backoff)
                    outcomes += [outbox.Outcome(c, None, "", skipped=True, release_in=wait) for c in lane[index + 1 :]]
                    break
            return outcomes

        outcomes = [outcome for lane in pool.map(send_in_order, lanes.values()) for outcome in lane]
        self._record(outcomes)
        return True

    def _bodies(self, claims: list[outbox.Claim]) -> dict[int, tuple[str, bytes]]:
        """message id → (its conversation, the body to send)."""
        ids = sorted({claim.message_id for claim in claims})
        with Session(self.engine) as session:
            messages = list(session.scalars(select(Message).where(Message.id.in_(ids))))
            return {m.id: (m.conversation, encode_body(forward_document(m))) for m in messages}

    def _record(self, outcomes: list[outbox.Outcome]) -> None:
        """Outcomes are written until the database takes them (or the lease would have run out anyway)."""
        deadline = time.monotonic() + self.lease_s
        while True:
            try:
                outbox.finish(self.engine, outcomes, self.max_attempts, *self.backoff)
                return
            except Exception:
                if self.stop.is_set() or time.monotonic() > deadline:
                    raise
                log.warning("recording delivery outcomes failed; retrying", exc_info=True)
                self.stop.wait(1.0)


class DeliveryWorker:
    """The loops of every configured target, plus the inbox retention trim."""

    def __init__(self, app: Flask, gate: Callable[[], bool] = lambda: True) -> None:
        self.app = app
        self.gate = gate
        self.stop_event = threading.Event()
        self.wake_events: list[threading.Event] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> DeliveryWorker:
        for index, target in enumerate(settings_of(self.app).forward_url):
            wake = threading.Event()
            loop = TargetLoop(self.app, target, self.stop_event, wake, self.gate)
            self.wake_events.append(wake)
            self._thread(f"forward-{index}", loop.run)
        self._thread("inbox-retention", self._retention)
        return self

    def _thread(self, name: str, target: Callable[[], object]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def wake(self) -> None:
        for event in self.wake_events:
            event.set()

    def _retention(self) -> None:
        if self.stop_event.wait(RETENTION_FIRST_S):
            return
        while True:
            if self.gate():
                with self.app.app_context():
                    try:
                        trim_old_messages()
                    except Exception:
                        log.warning("inbox retention trim failed; next try in %s s", RETENTION_EVERY_S, exc_info=True)
            if self.stop_event.wait(RETENTION_EVERY_S):
                return

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.wake()
        for thread in self.threads:
            thread.join(timeout)
        self.threads = []


def start_worker(app: Flask, gate: Callable[[], bool] = lambda: True) -> DeliveryWorker | None:
    """Start this process's delivery worker (once)."""
    found = app.extensions.get(EXTENSION_KEY)
    if found is None:
        found = app.extensions[EXTENSION_KEY] = DeliveryWorker(app, gate).start()
    return found


def stop_worker(app: Flask) -> None:
    worker = app.extensions.pop(EXTENSION_KEY, None)
    if worker is not None:
        worker.stop()


def wake_worker(app: Flask) -> None:
    """New deliveries were written in this process: its loops look at once instead of at their next poll."""
    worker = app.extensions.get(EXTENSION_KEY)
    if worker is not None:
        worker.wake()
