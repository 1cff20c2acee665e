"""Upstream failures over real HTTP: each one a clear, timely error, an event row, and a working app afterwards."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import READ_TIMEOUT_S
from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, free_port, wait_until

pytestmark = pytest.mark.e2e

CONTACT_ID = 7881302555913738

# mode, extra fault settings, expected HTTP status, the error kind the event records
FAULTS = [
    pytest.param("latency", {"latency_ms": int(READ_TIMEOUT_S * 1000) + 3000}, 504, "timeout", id="latency"),
    pytest.param("hang", {"hang_s": 30}, 504, "timeout", id="hang"),
    pytest.param("http500", {}, 502, "http_error", id="http500"),
    pytest.param("nonjson", {}, 502, "not_json", id="nonjson"),
    pytest.param("refuse", {}, 502, "unreachable", id="refuse"),
]


def text(uuid: str, content: str) -> dict:
    return {"uuid": uuid, "send_userid": CONTACT_ID, "isRoom": False, "content": content}


@pytest.mark.parametrize(("mode", "spec", "status", "kind"), FAULTS)
def test_each_upstream_fault_is_a_clear_timely_error(
    api: ConsoleApi, sim: SimulatorControl, mode: str, spec: dict, status: int, kind: str
):
    uuid = first_login(api, sim)["uuid"]
    sim.set_fault(mode, count=-1, actions=["SendTextMsg"], **spec)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            started = time.monotonic()
            pending = pool.submit(api.post, "/api/send-text", text(uuid, f"during {mode}"), 15)
            # Meanwhile the console still answers other requests at once.
            health_started = time.monotonic()
            assert api.get("/api/health", timeout=2).status_code == 200
            health_s = time.monotonic() - health_started
            response = pending.result()
            took = time.monotonic() - started
    finally:
        sim.clear_faults()  # also releases a request still held by the simulator

    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert isinstance(body["message"], str) and "SendTextMsg" in body["message"]
    if status == 504:  # gave up at the read timeout, not at the fault's end
        assert READ_TIMEOUT_S - 0.1 <= took <= READ_TIMEOUT_S + 1.0, took
    else:
        assert took < 1.0, took
    assert health_s < 1.0, health_s
    failures = [e for e in api.events(session=uuid, stage="send_text_error") if e["payload"].get("error")]
    assert len(failures) == 1, failures
    assert failures[0]["eventType"].startswith("SendTextMsg")
    assert failures[0]["payload"]["error"]["kind"] == kind
    print(f"\n[measure] {mode}: HTTP {response.status_code} after {took:.3f} s (health {health_s * 1000:.0f} ms)")

    # The fault is gone: the same call works again, and the session was not taken for offline.
    api.ok("/api/send-text", text(uuid, f"after {mode}"))
    assert f"after {mode}" in [m["content"] for m in sim.sent(uuid)]
    row = api.session(uuid)
    assert row["state"] == "online" and row["isLogin"] is True


def test_faults_during_the_login_flow_and_a_refresh(api: ConsoleApi, sim: SimulatorControl):
    sim.set_fault("http500", count=1, actions=["init"])
    failed = api.post("/api/start-login", {})
    assert failed.status_code == 502 and failed.json()["ok"] is False and failed.json()["message"]
    assert api.sessions() == []  # nothing half-made
    assert any(e["eventType"].startswith("init") for e in api.events(stage="init_error"))

    row = first_login(api, sim)  # the one-shot fault is used up
    uuid = row["uuid"]

    # A refresh whose status call times out is a 504, and says nothing about the account's login.
    sim.set_fault("hang", count=-1, actions=["GetRunClientByUuid"], hang_s=30)
    try:
        started = time.monotonic()
        response = api.post("/api/refresh-run-client", {"uuid": uuid}, timeout=15)
        took = time.monotonic() - started
    finally:
        sim.clear_faults()
    assert response.status_code == 504 and response.json()["ok"] is False, response.text
    assert took <= READ_TIMEOUT_S + 1.0
    assert api.session(uuid)["state"] == "online"
    assert api.ok("/api/refresh-run-client", {"uuid": uuid})["getRunClientByUuid"]["data"]["loginType"] == 2


def test_an_upstream_that_is_not_listening(make_console, sim: SimulatorControl):
    closed = f"http://127.0.0.1:{free_port()}"
    console = make_console(BASE_URL=closed)
    api = ConsoleApi(console.url)
    try:
        started = time.monotonic()
        response = api.post("/api/start-login", {})
        took = time.monotonic() - started
        assert response.status_code == 502, response.text
        assert response.json()["ok"] is False and "unreachable" in response.json()["message"]
        assert took < 1.0
        check = api.get("/api/upstream-check").json()
        assert check["ok"] is False and check["baseUrl"] == closed and check["message"]
        wait_until(lambda: api.events(stage="init_error"), 2, what="the failure event")
    finally:
        api.close()
