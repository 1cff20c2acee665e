"""Identical session callbacks arriving at the same moment are applied once (real HTTP, threads at a barrier).

The upstream may deliver one event several times at once (retries racing a slow answer, several delivery
workers). Each copy reads the session in the same state; only one may change it and record the event.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import requests

from tests.conftest import CALLBACK_TOKEN
from tests.support import ThreadedConsole, add_session, events_of, session_row

DISCONNECTED = 100005
LOGGED_IN = 104001


def _send_at_once(console: ThreadedConsole, body: dict, copies: int) -> Counter:
    """`copies` identical callbacks, each on its own connection, released together."""
    url = f"{console.url}/callback/wxwork?token={CALLBACK_TOKEN}"
    barrier = threading.Barrier(copies)
    answers: Counter = Counter()
    lock = threading.Lock()

    def send() -> None:
        try:
            with requests.Session() as http:
                http.get(f"{console.url}/api/health", timeout=60)  # connected before the barrier
                barrier.wait(timeout=120)
                response = http.post(url, json=body, timeout=120)
            key: tuple = (response.status_code, bool(response.json().get("duplicate")))
        except Exception as exc:  # shown in the test's assertion
            key = ("error", type(exc).__name__)
        with lock:
            answers[key] += 1

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return answers


def _console(database_url: str) -> ThreadedConsole:
    return ThreadedConsole({"DATABASE_URL": database_url, "CALLBACK_TOKEN": CALLBACK_TOKEN, "MONITOR_AUTOSTART": False})


def test_simultaneous_identical_disconnects_are_applied_once(database_url):
    console = _console(database_url)
    try:
        add_session(console.app, "U1", vid="1688850000000001", is_login=True, state="online")
        body = {"uuid": "U1", "type": DISCONNECTED, "json": json.dumps({"msg": "phone ended the login"})}
        answers = _send_at_once(console, body, 31)
        callbacks = events_of(console.app, event_type=str(DISCONNECTED))
        changes = events_of(console.app, stage="state")
        row = session_row(console.app, "U1")
    finally:
        console.stop()
    assert answers == {(200, False): 1, (200, True): 30}, answers
    assert len(callbacks) == 1, [event.id for event in callbacks]
    assert len(changes) == 1 and changes[0].event_type.startswith("online->"), changes
    assert row.state == changes[0].event_type.split("->")[1] != "online"


def test_simultaneous_identical_logins_are_applied_once(database_url):
    console = _console(database_url)
    try:
        add_session(console.app, "U2", state="waiting_code")
        payload = {"user_id": "1688850000000002", "realname": "Ann", "corp_name": "Demo"}
        body = {"uuid": "U2", "type": LOGGED_IN, "json": json.dumps(payload)}
        answers = _send_at_once(console, body, 30)
        callbacks = events_of(console.app, event_type=str(LOGGED_IN))
        changes = events_of(console.app, stage="state")
        row = session_row(console.app, "U2")
    finally:
        console.stop()
    assert answers == {(200, False): 1, (200, True): 29}, answers
    assert len(callbacks) == 1, [event.id for event in callbacks]
    assert [change.event_type for change in changes] == ["waiting_code->online"]
    assert row.state == "online" and row.vid == "1688850000000002"


def test_a_login_on_an_unknown_instance_arriving_many_times_at_once_makes_one_row(database_url):
    console = _console(database_url)
    try:
        body = {"uuid": "U3", "type": LOGGED_IN, "json": json.dumps({"user_id": "1688850000000003"})}
        answers = _send_at_once(console, body, 20)
        callbacks = events_of(console.app, event_type=str(LOGGED_IN))
        row = session_row(console.app, "U3")
    finally:
        console.stop()
    assert answers == {(200, False): 1, (200, True): 19}, answers
    assert len(callbacks) == 1 and row.state == "online"
