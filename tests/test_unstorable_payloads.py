"""A payload a JSON column refuses fails alone, or rather not at all: it is stored as text, with a flag.

MariaDB's JSON column refuses NaN and Infinity, nesting past JSON_DEPTH 32 and lone surrogates; the driver
cannot even encode a lone surrogate in a string column (the uuid). Sent among good callbacks by concurrent
senders over real HTTP, so that they share group-commit batches: every callback is answered 200, each bad
one is stored once as `{"storedAsText": true, "reason", "text"}`, a redelivery of it is recognised, the
events API answers strict JSON, and nothing logs "database unavailable".
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import CALLBACK_TOKEN
from tests.support import ThreadedConsole, events_of
from wxwork_demo.services.intake.payloads import MAX_DEPTH

MESSAGE = 102000


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


# The `json` field as the upstream sends it: JSON text, decoded by the app (Python's decoder takes NaN).
# (msg_id, uuid, the json field, the reason stored; "" when the payload itself is fine)
BAD = [
    ("bad-nan", "U1", '{"msg_id": "bad-nan", "value": NaN}', "NaN or Infinity"),
    ("bad-inf", "U1", '{"msg_id": "bad-inf", "value": 1e999}', "NaN or Infinity"),
    ("bad-deep", "U1", json.dumps({"msg_id": "bad-deep", "value": _nested(40)}), "nested deeper than 32 levels"),
    ("bad-sur", "U1", '{"msg_id": "bad-sur", "content": "a\\ud800b"}', "a lone surrogate in a string"),
    ("bad-key", "U1", '{"msg_id": "bad-key", "a\\udfffb": 1}', "a lone surrogate in a key"),
    ("bad-uuid", "U\ud800", '{"msg_id": "bad-uuid", "content": "fine"}', ""),
]
GOOD = 48


def _strict_json(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def console(database_url):
    server = ThreadedConsole(
        {"DATABASE_URL": database_url, "CALLBACK_TOKEN": CALLBACK_TOKEN, "MONITOR_AUTOSTART": False}
    )
    yield server
    server.stop()


def test_bad_payloads_are_stored_as_text_and_fail_no_batch(console, caplog):
    caplog.set_level(logging.INFO)
    url = f"{console.url}/callback/wxwork?token={CALLBACK_TOKEN}"
    bodies = [{"uuid": "U1", "type": MESSAGE, "json": json.dumps({"msg_id": f"good-{n}"})} for n in range(GOOD)]
    for index, (_msg_id, uuid, text, _reason) in enumerate(BAD):
        bodies.insert(index * 8 + 3, {"uuid": uuid, "type": MESSAGE, "json": text})

    def post(body: dict) -> tuple[int, dict]:
        response = requests.post(url, json=body, timeout=30)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        first = list(pool.map(post, bodies))
        again = list(pool.map(post, bodies))  # the sender retries everything: all recognised
    assert [status for status, _ in first] == [200] * len(bodies), first
    assert all(not body.get("duplicate") for _, body in first), first
    assert [(status, body.get("duplicate")) for status, body in again] == [(200, True)] * len(bodies), again

    events = events_of(console.app, event_type=str(MESSAGE))
    assert len(events) == len(bodies)
    stored = {}
    for event in events:
        payload = event.payload
        msg_id = json.loads(payload["text"])["msg_id"] if payload.get("storedAsText") else payload["msg_id"]
        stored[msg_id] = event
    for msg_id, _uuid, _text, reason in BAD:
        payload = stored[msg_id].payload
        if reason:
            assert payload["storedAsText"] is True and payload["reason"] == reason, payload
        else:
            assert payload == {"msg_id": msg_id, "content": "fine"}
            assert stored[msg_id].session_uuid == "U\\ud800"  # written out: no driver encodes a lone surrogate

    listed = requests.get(f"{console.url}/api/events", params={"limit": 200}, timeout=10)
    assert listed.status_code == 200
    _strict_json(listed.text)
    logged = [record.getMessage() for record in caplog.records]
    assert not [line for line in logged if "unavailable" in line], logged[:5]


def test_the_depth_limit_is_the_databases(client):
    """MAX_DEPTH is MariaDB's own: the deepest payload it takes stays JSON, one level more becomes text."""
    for depth, as_text in ((MAX_DEPTH - 2, False), (MAX_DEPTH - 1, True)):
        # {"msg_id", "value": [[...["bottom"]...]]}: the object, `depth` lists, the string: depth + 2 levels.
        payload = {"msg_id": f"depth-{depth}", "value": _nested(depth)}
        body = {"uuid": "U1", "type": MESSAGE, "json": json.dumps(payload)}
        response = client.post(f"/callback/wxwork?token={CALLBACK_TOKEN}", json=body)
        assert response.status_code == 200, response.get_json()
        stored = client.get("/api/events").get_json()["events"][0]["payload"]
        assert bool(stored.get("storedAsText")) is as_text, (depth, stored)
