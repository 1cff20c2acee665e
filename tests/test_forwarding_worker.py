"""The delivery loop of one target (services/forwarding/worker.py), its sends replaced by a recorder: which
deliveries go out, in what order, how many at once, and what is recorded, on SQLite and MySQL.

The end-to-end tests (tests/e2e/test_forwarding*.py) send over real HTTP; here the sends are instant or held
on demand, so the tests can tell what the loop does while one conversation's delivery is still in flight.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_test_app
from tests.support import close_app
from wxwork_demo.db import EXTENSION_KEY as DB_KEY
from wxwork_demo.models import Delivery, Message
from wxwork_demo.services.forwarding import worker
from wxwork_demo.services.forwarding.outbox import new_rows

TARGET = "http://127.0.0.1:9/hook"
SECRET = "forward-secret-for-the-tests-0123"


@pytest.fixture
def app(database_url):
    # FORWARD_CONCURRENCY=2: a claim takes 2 * 4 = 8 deliveries.
    app = make_test_app(
        database_url,
        FORWARD_URL=TARGET,
        FORWARD_SECRET=SECRET,
        FORWARD_CONCURRENCY=2,
        FORWARD_TIMEOUT_S=2.0,
        FORWARD_BACKOFF_S=0.05,
        FORWARD_BACKOFF_MAX_S=0.2,
        FORWARD_MAX_ATTEMPTS=5,
    )
    yield app
    close_app(app)


def store(app, conversations: list[str]) -> dict[int, str]:
    """One message per entry (its conversation), each with its delivery; message id -> conversation."""
    engine = app.extensions[DB_KEY].engine
    stored = {}
    with Session(engine) as session:
        for n, conversation in enumerate(conversations):
            message = Message(
                account="1688853790599424",
                uuid="U1",
                message_key=f"s:{1000 + n}",
                type=102000,
                msgtype=2,
                conversation=conversation,
                is_room=False,
                sender=conversation,
                receiver="1688853790599424",
                content=f"m{n}",
                msg_id=str(n),
                server_id=1000 + n,
                send_time=datetime(2024, 8, 19, 2, 22, 32),
                is_sync=False,
                at_list=[],
                payload={"content": f"m{n}"},
            )
            session.add(message)
            session.flush()
            session.add_all([Delivery(**row) for row in new_rows([message.id], (TARGET,), datetime.utcnow())])
            session.commit()
            stored[message.id] = conversation
    return stored


class Sends:
    """Stands in for `post_signed`: notes every send, answers as told, holds the sends of `held` conversations
    until released, and notes any delivery sent twice at the same time."""

    def __init__(self, fail_once: set[int] | None = None) -> None:
        self.lock = threading.Lock()
        self.sent: list[tuple[int, int, bool]] = []  # (message id, delivery id, delivered) in the order started
        self.in_flight: set[str] = set()
        self.overlaps: list[str] = []
        self.fail_once = set(fail_once or ())
        self.held: dict[str, threading.Event] = {}

    def __call__(self, http, url, delivery_id, body, secret, timeout):
        import json

        document = json.loads(body)
        message_id, conversation = document["id"], document["message"]["conversation"]
        with self.lock:
            if delivery_id in self.in_flight:
                self.overlaps.append(delivery_id)
            self.in_flight.add(delivery_id)
            fail = message_id in self.fail_once
            self.fail_once.discard(message_id)
            self.sent.append((message_id, int(delivery_id), not fail))
            gate = self.held.get(conversation)
        try:
            if gate is not None:
                gate.wait(10)
            return (503, "HTTP 503") if fail else (204, "")
        finally:
            with self.lock:
                self.in_flight.discard(delivery_id)

    def delivered(self) -> list[int]:
        with self.lock:
            return [message_id for message_id, _, ok in self.sent if ok]


def wait_for(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def statuses(app) -> dict[int, tuple[str, int]]:
    with Session(app.extensions[DB_KEY].engine) as session:
        return {row.message_id: (row.status, row.attempts) for row in session.scalars(select(Delivery))}


@pytest.fixture
def running(app, monkeypatch):
    started = []

    def start(sends: Sends):
        monkeypatch.setattr(worker, "post_signed", sends)
        started.append(worker.start_worker(app))

    yield start
    worker.stop_worker(app)


def test_a_conversation_waiting_on_its_target_holds_up_no_other(app, running):
    """One slow delivery holds its own conversation only: the other conversations' deliveries, claimed after
    it, go on meanwhile. (Every send of a claim used to wait for the slowest of its conversations.)"""
    stored = store(app, ["slow"] + ["fast"] * 30)
    sends = Sends()
    release = sends.held["slow"] = threading.Event()
    try:
        running(sends)
        fast = [message_id for message_id, conversation in stored.items() if conversation == "fast"]
        assert wait_for(lambda: [m for m in sends.delivered() if m in set(fast)] == fast, timeout=10), sends.sent
        # and recorded meanwhile
        assert wait_for(lambda: list(statuses(app).values()).count(("delivered", 1)) == 30), statuses(app)
    finally:
        release.set()
    assert wait_for(lambda: all(value == ("delivered", 1) for value in statuses(app).values()))
    assert sends.overlaps == []


def test_each_conversation_in_the_order_received_across_claims_and_retries(app, running):
    """Many claims' worth of two interleaved conversations, one delivery failing once: each conversation's
    deliveries arrive in the order received (the failed one and those after it wait for its retry), each
    delivery is recorded delivered, and none is ever sent twice at the same time."""
    stored = store(app, ["a", "b"] * 20)
    a = [message_id for message_id, conversation in stored.items() if conversation == "a"]
    b = [message_id for message_id, conversation in stored.items() if conversation == "b"]
    sends = Sends(fail_once={a[5], b[12]})
    running(sends)
    assert wait_for(lambda: len(sends.delivered()) == 40, timeout=20), sends.sent
    delivered = sends.delivered()
    assert [m for m in delivered if m in set(a)] == a
    assert [m for m in delivered if m in set(b)] == b
    assert sends.overlaps == []
    assert wait_for(lambda: all(status == "delivered" for status, _ in statuses(app).values()))
    found = statuses(app)
    assert found[a[5]] == ("delivered", 2) and found[b[12]] == ("delivered", 2)
    assert all(found[m] == ("delivered", 1) for m in stored if m not in {a[5], b[12]})


def test_a_keep_alive_connection_the_target_closed_while_idle_is_opened_again():
    """A target that closes each connection after its answer (without saying so): every delivery still gets
    through, none reported as "connection closed" (a dropped idle connection is opened again before use)."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    served = []

    def serve() -> None:
        for _ in range(3):
            connection, _address = server.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(rest) < length:
                    rest += connection.recv(65536)
                served.append(rest)
                connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    http = worker.KeepAlive()
    try:
        for n in range(3):
            time.sleep(0.1)  # the target's close has arrived
            assert worker.post_signed(http, f"http://127.0.0.1:{port}/hook", str(n), b"{}", SECRET, 2.0) == (204, "")
    finally:
        http.clear()
        server.close()
    assert served == [b"{}"] * 3


def test_a_message_no_longer_stored_holds_its_conversation_back_from_nothing(database_url, monkeypatch):
    """A delivery whose message was deleted meanwhile (the retention trim racing a claim) is the message's
    fault, not the target's: it is recorded as a failed attempt, and what shares its lane goes on at once
    instead of waiting for that delivery's backoff (here 30 s). A missing message's conversation is unknown:
    it shares the lane of the messages that have none (""), which are the ones checked here."""
    app = make_test_app(
        database_url,
        FORWARD_URL=TARGET,
        FORWARD_SECRET=SECRET,
        FORWARD_BACKOFF_S=30,
        FORWARD_BACKOFF_MAX_S=60,
    )
    try:
        stored = store(app, [""] * 4)
        gone, *rest = list(stored)
        with Session(app.extensions[DB_KEY].engine) as session:
            session.delete(session.get(Message, gone))
            session.commit()
        sends = Sends()
        monkeypatch.setattr(worker, "post_signed", sends)
        worker.start_worker(app)
        assert wait_for(lambda: sends.delivered() == rest, timeout=5), sends.sent
        assert wait_for(lambda: statuses(app)[gone] == ("pending", 1)), statuses(app)
    finally:
        worker.stop_worker(app)
        close_app(app)
