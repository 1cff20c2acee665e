"""Forwarding end to end: callbacks over real HTTP into the console, deliveries to real HTTP receivers that
verify the signature as the contract says, on SQLite and MariaDB.

The receivers (tests/e2e/receiver.py) refuse, answer 3xx/4xx/5xx, hang up or never answer on demand. Short
timeouts and backoff stand in for minutes.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.e2e.live import free_port, wait_until
from tests.e2e.receiver import Receiver
from tests.support import CALLBACK_PATH, add_session

SECRET = "forward-secret-for-the-tests-0123"
ACCOUNT = "1688853790599424"
PEER = 7881302555913738
FAST = {
    "CALLBACK_TOKEN": "test-callback-token-0123456789",
    "FORWARD_SECRET": SECRET,
    "FORWARD_TIMEOUT_S": 0.5,
    "FORWARD_MAX_ATTEMPTS": 3,
    "FORWARD_BACKOFF_S": 0.05,
    "FORWARD_BACKOFF_MAX_S": 0.2,
}


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def make(**fields) -> Receiver:
        receiver = Receiver(SECRET, **fields).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def forwarding(make_console):
    """A console forwarding to `urls`, its delivery worker running, an online account U1."""
    consoles = []

    def make(urls: list[str], **overrides):
        console = make_console(**{**FAST, "FORWARD_URL": ",".join(urls), **overrides})
        add_session(console.app, "U1", vid=ACCOUNT, is_login=True, state="online")
        # The console runs a scheduler, as `make run`'s workers do: its delivery worker holds the forwarder's
        # lease within a tick, whatever the monitor's switch says.
        consoles.append(console)
        return console

    return make


def message(server_id: int, content: str = "hi") -> dict:
    return {
        "msgtype": 2,
        "content": content,
        "sender": PEER,
        "receiver": int(ACCOUNT),
        "is_room": 0,
        "msg_id": 1000000 + server_id,
        "server_id": server_id,
        "send_time": 1724034152,
        "referid": 0,
        "issync": False,
        "atList": [],
    }


def post_messages(console, server_ids, uuid="U1") -> None:
    with requests.Session() as http:
        for server_id in server_ids:
            body = {"uuid": uuid, "type": 102000, "json": json.dumps(message(server_id, f"m{server_id}"))}
            response = http.post(console.url + CALLBACK_PATH, json=body, timeout=10)
            assert response.status_code == 200, response.text


def deliveries(console, **query) -> dict:
    response = requests.get(console.url + "/api/deliveries", params={"limit": 500, **query}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_message_reaches_the_receiver_signed_as_the_contract_says(forwarding, receivers):
    receiver = receivers()
    console = forwarding([receiver.url])
    post_messages(console, range(1, 21))
    wait_until(lambda: len(receiver.deliveries()) == 20, timeout=15, what="20 deliveries")
    received = receiver.deliveries()
    assert all(item.verified for item in received)
    assert abs(int(received[0].timestamp) - time.time()) < 30
    first = received[0].body
    assert set(first) >= {"id", "type", "uuid", "account", "receivedAt", "message"}
    assert first["type"] == 102000 and first["uuid"] == "U1" and first["account"] == ACCOUNT
    assert first["message"]["id"] == first["id"] and first["message"]["conversation"] == str(PEER)
    assert first["receivedAt"] == first["message"]["receivedAt"]
    # In the order received (one conversation), each delivery id once, the ids the API lists.
    assert [item.body["message"]["serverId"] for item in received] == [str(n) for n in range(1, 21)]
    # Outcomes are recorded once a round's sends are done: a moment after the receiver has them.
    wait_until(lambda: deliveries(console)["counts"]["delivered"] == 20, timeout=10, what="20 delivered")
    listed = deliveries(console)
    assert listed["counts"] == {"pending": 0, "delivered": 20, "dead": 0}
    assert sorted(str(d["id"]) for d in listed["deliveries"]) == sorted(item.delivery for item in received)
    assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["deliveredAt"] for d in listed["deliveries"]), (
        listed
    )


def _refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}/hook"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("refused", "connection refused"),
        ("never-answers", "no answer within"),
        ("hang-up", "connection closed"),
        ("redirect", "HTTP 302"),
        ("client-error", "HTTP 404"),
        ("server-error", "HTTP 503"),
    ],
)
def test_a_failing_target_is_retried_then_dead_and_holds_up_nothing(forwarding, receivers, fault, error):
    good = receivers()
    bad = None
    if fault == "refused":
        bad_url = _refused_url()
    else:
        fields = {
            "never-answers": {"mode": "slow", "delay_s": 3.0},
            "hang-up": {"mode": "hang-up"},
            "redirect": {"mode": "redirect"},
            "client-error": {"mode": "status", "status": 404},
            "server-error": {"mode": "status", "status": 503},
        }[fault]
        bad = receivers(**fields)
        bad_url = bad.url
    console = forwarding([bad_url, good.url], FORWARD_MAX_ATTEMPTS=2)
    started = time.monotonic()
    post_messages(console, range(1, 6))
    wait_until(lambda: len(good.deliveries()) == 5, timeout=10, what="the good target's deliveries")
    # The good target is served at once, whatever the bad one does (its timeouts take 0.5 s each).
    assert time.monotonic() - started < 3.0
    wait_until(lambda: deliveries(console, status="dead")["counts"]["dead"] == 5, timeout=20, what="5 dead")
    dead = deliveries(console, status="dead")["deliveries"]
    assert all(d["attempts"] == 2 and error in d["lastError"] for d in dead)
    if bad is not None:  # FORWARD_MAX_ATTEMPTS counts every attempt: exactly two requests per delivery
        attempts = {}
        for delivery, _mode in bad.attempts:
            attempts[delivery] = attempts.get(delivery, 0) + 1
        assert sorted(attempts.values()) == [2] * 5
    targets = deliveries(console)["targets"]
    assert error in targets[0]["lastError"] and targets[1]["counts"]["delivered"] == 5
    # Replayed once the target is fixed: the same delivery ids, a fresh count.
    if bad is None:
        return
    bad.mode, bad.delay_s = "ok", 0.0
    replay = requests.post(console.url + "/api/deliveries/replay", json={"status": "dead"}, timeout=10)
    assert replay.json() == {"ok": True, "requeued": 5}
    wait_until(lambda: len(bad.deliveries()) == 5, timeout=10, what="replayed deliveries")
    assert sorted(item.delivery for item in bad.deliveries()) == sorted(str(d["id"]) for d in dead)
    wait_until(lambda: deliveries(console, target=bad_url)["counts"]["delivered"] == 5, timeout=10, what="5 more")
    replayed = deliveries(console, target=bad_url)["deliveries"]
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in replayed)


def test_a_target_down_for_a_while_gets_everything_when_it_is_back(forwarding, receivers):
    port = free_port()
    console = forwarding([f"http://127.0.0.1:{port}/hook"], FORWARD_MAX_ATTEMPTS=50)
    post_messages(console, range(1, 31))
    wait_until(lambda: max(d["attempts"] for d in deliveries(console)["deliveries"]) >= 3, timeout=10, what="retries")
    receiver = Receiver(SECRET).start(port)
    try:
        wait_until(lambda: len(receiver.deliveries()) == 30, timeout=20, what="30 deliveries after the outage")
        assert sorted(item.body["message"]["serverId"] for item in receiver.deliveries()) == sorted(
            str(n) for n in range(1, 31)
        )
        assert receiver.overlaps == []
    finally:
        receiver.stop()


def test_replay_by_ids_and_bad_replays(forwarding, receivers):
    receiver = receivers()
    console = forwarding([receiver.url])
    post_messages(console, [1, 2])
    wait_until(lambda: len(receiver.deliveries()) == 2, timeout=10, what="2 deliveries")
    ids = [d["id"] for d in deliveries(console)["deliveries"]]
    answer = requests.post(console.url + "/api/deliveries/replay", json={"ids": ids[:1]}, timeout=10)
    assert answer.json() == {"ok": True, "requeued": 1}
    wait_until(lambda: len(receiver.deliveries()) == 3, timeout=10, what="the replayed delivery")
    assert receiver.deliveries()[2].delivery == str(ids[0])
    for body, field in [({}, "ids"), ({"ids": "1"}, "ids"), ({"ids": [True]}, "ids"), ({"status": "x"}, "status")]:
        response = requests.post(console.url + "/api/deliveries/replay", json=body, timeout=10)
        assert response.status_code == 400 and response.json()["field"] == field
    assert requests.get(console.url + "/api/deliveries?status=nope", timeout=10).json()["field"] == "status"


def test_a_test_delivery_reaches_every_target(forwarding, receivers):
    good = receivers()
    down = _refused_url()
    console = forwarding([good.url, down])
    answer = requests.post(console.url + "/api/forward/test", timeout=10).json()
    assert answer["ok"] is False
    first, second = answer["targets"]
    assert first["status"] == 200 and first["error"] == "" and first["ms"] >= 0
    assert second["status"] is None and "refused" in second["error"]
    [test] = good.deliveries()
    assert test.verified and test.body["type"] == 0 and test.delivery.startswith("test-")


def test_forwarding_off_stores_no_deliveries(make_console):
    console = make_console(CALLBACK_TOKEN=FAST["CALLBACK_TOKEN"])
    add_session(console.app, "U1", vid=ACCOUNT, is_login=True, state="online")
    post_messages(console, [1])
    assert deliveries(console)["counts"] == {"pending": 0, "delivered": 0, "dead": 0}
    assert requests.post(console.url + "/api/forward/test", timeout=10).status_code == 409


def test_only_the_forwarded_types_get_deliveries(forwarding, receivers):
    receiver = receivers()
    console = forwarding([receiver.url], FORWARD_TYPES="116001")
    post_messages(console, [1])
    body = {"uuid": "U1", "type": 116001, "json": json.dumps({"list": [{"user_id": 5}], "seq": 1})}
    assert requests.post(console.url + CALLBACK_PATH, json=body, timeout=10).status_code == 200
    wait_until(lambda: len(receiver.deliveries()) == 1, timeout=10, what="one delivery")
    assert receiver.deliveries()[0].body["type"] == 116001


def test_forwarding_goes_on_while_the_monitor_is_switched_off(make_console, receivers):
    """A stored message reaches its targets whatever the monitor's switch says: the delivery worker of a
    scheduler process holds a lease of its own (`forwarder`), never the monitor's. It used to wait for the
    monitor's lease, so turning the monitor off in the console silently paused forwarding."""
    receiver = receivers()
    console = make_console(**{**FAST, "FORWARD_URL": receiver.url})  # the monitor's switch: off (a fresh database)
    add_session(console.app, "U1", vid=ACCOUNT, is_login=True, state="online")
    assert requests.get(console.url + "/api/state", timeout=10).json()["monitor"]["enabled"] is False
    post_messages(console, range(1, 6))
    wait_until(lambda: len(receiver.deliveries()) == 5, timeout=15, what="5 deliveries with the monitor off")
