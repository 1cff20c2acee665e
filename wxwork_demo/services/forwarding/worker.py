"""The delivery worker: one loop per target, each with its own keep-alive connections and sender threads.

A target that is slow, refuses or never answers only ever holds its own loop: the intake never waits for
a delivery (it only writes outbox rows), and the other targets' loops go on. Each loop claims due rows
(outbox.claim), posts them concurrently (FORWARD_CONCURRENCY conversations at once, each conversation's in
the order received) and records the outcomes, the three at once: the next claim is taken and the outcomes
written while earlier claims are being sent. It sleeps when nothing is due, until woken by a new delivery
written in this process or the poll interval.

Runs in the monitor's owner process (`gate`: while this process holds the monitor lease) and in
`flask forward run` (always). The retention trim of the inbox runs on the same worker, off every request path.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPConnection, HTTPException, HTTPSConnection, IncompleteRead, RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from sqlalchemy import bindparam, select
from urllib3.util.wait import wait_for_read

from wxwork_demo.config import settings_of
from wxwork_demo.db import EXTENSION_KEY as DB_KEY
from wxwork_demo.models import utcnow
from wxwork_demo.services.forwarding import outbox
from wxwork_demo.services.forwarding.signing import encode_body, signed_headers
from wxwork_demo.services.inbox.queries import SHOWN, MessageRow, message_to_dict
from wxwork_demo.services.inbox.retention import trim_old_messages

log = logging.getLogger(__name__)

EXTENSION_KEY = "wxwork_delivery_worker"
# A claim takes this many rounds of sends at most, so its lease covers them even if each one times out.
ROUNDS_PER_CLAIM = 4
POLL_S = 0.2
LEASE_MARGIN_S = 5.0
RETENTION_EVERY_S = 600.0
RETENTION_FIRST_S = 5.0


def forward_document(message: MessageRow) -> dict[str, Any]:
    """The body of a forwarded message (local-api.md, "Forwarding"), of a `Message` or a row of its shown
    columns (`SHOWN`)."""
    shown = message_to_dict(message)
    return {
        "id": shown["id"],
        "type": shown["type"],
        "uuid": shown["uuid"],
        "account": shown["account"],
        "receivedAt": shown["receivedAt"],
        "message": shown,
    }


# The bodies of a claim's messages: rows of the columns a message shows, not `Message` objects (the ORM's
# objects cost about as much CPU as the rest of building a body).
_BODIES = select(*SHOWN).where(SHOWN[0].in_(bindparam("ids", expanding=True)))


class KeepAlive:
    """Keep-alive connections to the targets: one per target and thread (a lane's sender), kept open between
    deliveries; `clear` closes them all.

    The standard library's http.client directly: through urllib3's pool manager (what requests runs on) a
    delivery cost about 0.6 ms of CPU, this way 0.27 ms, and a conversation's deliveries go one after the
    other, so that CPU is paid in turn (/work/notes/fwd.md). The behaviour stays requests': no retries of its
    own, no redirects followed, no proxy from the environment (the target is the user's own application),
    certificates checked against the same CA bundle; a connection the target closed while idle is opened
    again before it is used.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.opened: list[HTTPConnection] = []
        self.tls: ssl.SSLContext | None = None

    def connection(self, url: str, timeout: float) -> tuple[HTTPConnection, str]:
        """This thread's connection to `url` (opened when used), and the path to post to."""
        found: dict[str, tuple[HTTPConnection, str]] | None = getattr(self.local, "connections", None)
        if found is None:
            found = self.local.connections = {}
        if url not in found:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection: HTTPConnection
            if parts.scheme == "https":
                if self.tls is None:
                    self.tls = ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
                connection = HTTPSConnection(host, port, timeout=timeout, context=self.tls)
            else:
                connection = HTTPConnection(host, port, timeout=timeout)
            with self.lock:
                self.opened.append(connection)
            found[url] = (connection, path)
        return found[url]

    def clear(self) -> None:
        with self.lock:
            opened, self.opened = self.opened, []
        for connection in opened:
            connection.close()


_USER_AGENT = "wxwork-demo-forwarder"


def post_signed(
    http: KeepAlive, url: str, delivery_id: str, body: bytes, secret: str, timeout: float
) -> tuple[int | None, str]:
    """(HTTP status or None, error text or "" for a delivery). Redirects are not followed: 3xx is a failure."""
    connection, path = http.connection(url, timeout)
    headers = signed_headers(secret, delivery_id, body)
    headers["User-Agent"] = _USER_AGENT
    if connection.sock is not None and wait_for_read(connection.sock, timeout=0.0):
        connection.close()  # closed by the target while idle (or it sent what nobody asked for)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
    except TimeoutError:
        connection.close()
        return None, f"no answer within {timeout:g} s"
    except (OSError, HTTPException) as exc:
        connection.close()
        return None, _connection_error(exc)
    status = response.status
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def _connection_error(exc: Exception) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionError | RemoteDisconnected | IncompleteRead):
        return "connection closed without an answer"
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection closed without an answer"
    if "name or service" in text or "resolve" in text:
        return "host name not found"
    return "connection failed"


@dataclass
class _Held:
    """A conversation held back after a delivery that failed or was not sent.

    Claims go by due time, so the conversation's rows never tried yet come before the retry of the held-back
    one (`first_id`): until that row is claimed again, the conversation's later rows are handed back as they
    are claimed, due with it (the claims then take them in the order received)."""

    due_at: datetime  # when the held-back rows are due again
    first_id: int | None  # the delivery whose retry the conversation waits for (None: none, only the time)
    expires: float  # monotonic: it waits no longer (the retry may have gone to another worker)
    recorded: bool = False  # the held-back rows' outcomes are written


@dataclass
class _Queued:
    """A claimed delivery waiting in its conversation's lane."""

    claim: outbox.Claim
    body: bytes | None  # None: the message is no longer stored
    claimed_at: float  # monotonic, taken before the claim: its lease runs from (at least) then


class TargetLoop:
    """Claims, sends and records the deliveries of one target, the three at once.

    The loop's own thread claims due rows and loads their bodies while earlier claims are still being sent,
    and records the outcomes as they come in (a statement for many). Each conversation has one lane: its
    deliveries go one after the other, in the order received, on one sender thread at a time; a lane takes
    the conversation's deliveries of later claims too, so one conversation keeps a sender busy without a pause
    between claims, and a conversation waiting on its target holds up no other (FORWARD_CONCURRENCY lanes
    at once). A delivery that failed holds its conversation back until its retry (see `_send_lane`).
    """

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
        # A lane starts no send of a claim after `budget_s`, so every send of a claim ends within
        # budget_s + timeout; the lease covers that with room to record the outcomes: no row is sent twice at
        # the same time.
        self.budget_s = self.timeout * ROUNDS_PER_CLAIM
        self.lease_s = self.budget_s + self.timeout + LEASE_MARGIN_S
        self.max_attempts = settings.forward_max_attempts
        self.backoff = (settings.forward_backoff_s, settings.forward_backoff_max_s)
        self.engine = app.extensions[DB_KEY].engine
        # Shared by the loop's thread and the lanes, under `changed`.
        self.changed = threading.Condition()
        self.lanes: dict[str, deque[_Queued]] = {}  # conversations being sent -> what waits in their lane
        self.queued = 0  # deliveries waiting in lanes
        self.done: list[outbox.Outcome] = []  # outcomes not yet recorded
        self.held_back: dict[str, _Held] = {}

    def run(self) -> None:
        http = KeepAlive()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="forward-send")
        try:
            while not self.stop.is_set():
                try:
                    busy = self.step(http, pool)
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
            self._finish_lanes()
            pool.shutdown(wait=True)
            http.clear()

    def step(self, http: KeepAlive, pool: ThreadPoolExecutor) -> bool:
        """Record what was sent, claim more when the lanes run low, wait for either. False when nothing is
        being sent and nothing was due."""
        self._record()
        with self.changed:
            room = self.queued < self.batch
        claimed = room and self.gate() and self.claim(http, pool)
        with self.changed:
            if not self.lanes:
                return claimed
            if claimed and self.queued < self.batch:
                return True  # more at once
            # Until enough outcomes wait to be recorded, the lanes run low (unless nothing was due: then the
            # next look is at the poll interval, as when idle), or every lane is done.
            low = claimed or not room
            self.changed.wait_for(
                lambda: len(self.done) >= self.batch or not self.lanes or (low and self.queued < self.batch // 2),
                POLL_S,
            )
        return True

    def claim(self, http: KeepAlive, pool: ThreadPoolExecutor) -> bool:
        """Claim due rows and put them in their lanes. False when nothing was due."""
        claimed_at = time.monotonic()
        claims = outbox.claim(self.engine, self.target, self.batch, self.lease_s)
        if not claims:
            return False
        bodies = self._bodies(claims)
        now = time.monotonic()
        with self.changed:
            self.held_back = {
                key: held for key, held in self.held_back.items() if not held.recorded or held.expires > now
            }
            for claim in claims:  # in the order of their ids
                conversation, body = bodies.get(claim.message_id, ("", None))
                held = self.held_back.get(conversation)
                if held is not None:
                    if claim.id == held.first_id:
                        del self.held_back[conversation]
                    elif held.first_id is None or claim.id > held.first_id:
                        self.done.append(outbox.Outcome(claim, None, "", skipped=True, due_at=held.due_at))
                        continue
                lane = self.lanes.get(conversation)
                if lane is None:
                    lane = self.lanes[conversation] = deque()
                    pool.submit(self._send_lane, http, conversation, lane)
                lane.append(_Queued(claim, body, claimed_at))
                self.queued += 1
        return True

    def _send_lane(self, http: KeepAlive, conversation: str, lane: deque[_Queued]) -> None:
        """Send a conversation's deliveries one after the other until its lane is empty.

        A delivery the target failed, or one not sent (its claim's time is up, or the worker stops), holds its
        conversation back: the rest of the lane, and what is claimed of the conversation until that row is
        claimed again, is handed back due at the same moment as it (its retry, or at once), so that the claims
        that follow take them in the order received again."""
        while True:
            with self.changed:
                if not lane:
                    del self.lanes[conversation]
                    self.changed.notify()
                    return
                item = lane.popleft()
                self.queued -= 1
                if self.queued == self.batch // 2 - 1:
                    self.changed.notify()
            outcome = self._send(http, item)
            # A message no longer stored failed by itself (its backoff is finish's): the target did nothing.
            target_failed = bool(outcome.error) and item.body is not None
            with self.changed:
                if target_failed or outcome.skipped:
                    wait = outbox.backoff_delay(item.claim.attempts + 1, *self.backoff) if outcome.error else 0.0
                    due_at = utcnow() + timedelta(seconds=wait)
                    outcome = dataclasses.replace(outcome, due_at=due_at)
                    # The row that comes back first: this one, unless it is dead (then the next one, if any).
                    again = outcome.skipped or item.claim.attempts + 1 < self.max_attempts
                    first = item.claim.id if again else (lane[0].claim.id if lane else None)
                    expires = time.monotonic() + wait + (self.lease_s if first is not None else 0.0)
                    self.held_back[conversation] = _Held(due_at, first, expires)
                    self.done.append(outcome)
                    self.done += [outbox.Outcome(q.claim, None, "", skipped=True, due_at=due_at) for q in lane]
                    self.queued -= len(lane)
                    lane.clear()
                else:
                    self.done.append(outcome)
                if len(self.done) >= self.batch:
                    self.changed.notify()

    def _send(self, http: KeepAlive, item: _Queued) -> outbox.Outcome:
        claim = item.claim
        if self.stop.is_set() or time.monotonic() - item.claimed_at > self.budget_s:
            return outbox.Outcome(claim, None, "", skipped=True)  # handed back at once
        if item.body is None:  # trimmed away meanwhile: nothing left to send
            return outbox.Outcome(claim, None, "message no longer stored")
        try:
            status, error = post_signed(http, self.target, str(claim.id), item.body, self.secret, self.timeout)
        except Exception as exc:  # not expected; the delivery is retried like any other failure
            log.warning("delivery %s failed", claim.id, exc_info=True)
            status, error = None, type(exc).__name__
        return outbox.Outcome(claim, status, error)

    def _bodies(self, claims: list[outbox.Claim]) -> dict[int, tuple[str, bytes]]:
        """message id → (its conversation, the body to send)."""
        ids = sorted({claim.message_id for claim in claims})
        with self.engine.connect() as connection:
            rows = list(connection.execute(_BODIES, {"ids": ids}))
            connection.commit()
        return {row.id: (row.conversation, encode_body(forward_document(row))) for row in rows}

    def _record(self) -> None:
        """Write the outcomes in so far (until the database takes them, or the lease would have run out)."""
        with self.changed:
            outcomes, self.done = self.done, []
            held = list(self.held_back.values())  # the outcomes that hold them back are among these
        if not outcomes:
            return
        deadline = time.monotonic() + self.lease_s
        while True:
            try:
                outbox.finish(self.engine, outcomes, self.max_attempts, *self.backoff)
                for entry in held:
                    entry.recorded = True
                return
            except Exception:
                if self.stop.is_set() or time.monotonic() > deadline:
                    raise
                log.warning("recording delivery outcomes failed; retrying", exc_info=True)
                self.stop.wait(1.0)

    def _finish_lanes(self) -> None:
        """On stop: the lanes hand back what they hold, and their outcomes are recorded."""
        with self.changed:
            self.changed.wait_for(lambda: not self.lanes, self.timeout + 1.0)
        try:
            self._record()
        except Exception:  # the rows come back when their leases run out
            log.warning("recording delivery outcomes on stop failed", exc_info=True)


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
