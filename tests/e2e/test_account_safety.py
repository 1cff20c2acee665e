"""Account safety (issue 14): the console reacts to what the upstream really says, over real HTTP against the
simulator in its realistic default (docs: upstream-api-more.md §6-§7, 00-basic 二次验证注意事项)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until

pytestmark = pytest.mark.e2e


def start_monitor(api: ConsoleApi) -> None:
    api.ok("/api/monitor/start")
    wait_until(lambda: api.state()["monitor"]["owner"], 5, what="the monitor to take its lease")


def lose_callbacks(sim: SimulatorControl, uuid: str) -> None:
    """Point the instance's callbacks nowhere (port 9): the upstream retries none, so they are lost."""
    reply = sim.http.post(f"{sim.url}/wxwork/SetCallbackUrl", json={"uuid": uuid, "url": "http://127.0.0.1:9/"})
    assert reply.json()["errcode"] == 0


def alerts(api: ConsoleApi, uuid: str) -> list[dict]:
    return [e for e in api.events(session=uuid, stage="alert")]


def test_minus_11025_from_a_call_waits_for_a_person_and_the_monitor_notices_the_verification(
    api: ConsoleApi, sim: SimulatorControl
):
    uuid = first_login(api, sim)["uuid"]
    start_monitor(api)
    lose_callbacks(sim, uuid)
    sim.drop(uuid, 100012)  # its callback is lost: the calls are what tells the console

    refused = api.post(
        "/api/send-text", {"uuid": uuid, "send_userid": 7881302555913738, "isRoom": False, "content": "x"}
    )
    assert refused.status_code == 502 and "-11025" in refused.json()["message"]

    def qr_ready() -> dict | None:
        row = api.session(uuid)
        return row if row["state"] == "needs_person" and row["qrcode"] else None

    row = wait_until(qr_ready, 10, what="needs_person with a SecondaryValidation QR")
    instance = next(i for i in sim.instances() if i["uuid"] == uuid)
    assert row["qrcodeKey"] == instance["secondary_qr_key"]
    wait_until(lambda: len(alerts(api, uuid)) == 1, 5, what="one alert")
    time.sleep(2.5)  # a few monitor intervals: still one alert, no re-init, re-checks unrecorded
    calls = sim.calls()["by_action"]
    assert len(alerts(api, uuid)) == 1 and calls.get("init", 0) == 1
    assert api.session(uuid)["state"] == "needs_person"

    sim.scan(uuid)  # the person scans the SecondaryValidation QR; no callback follows (and none could)
    api.wait_session(uuid, "back online after secondary verification", timeout=5, state="online", isLogin=True)
    assert api.session(uuid)["qrcode"] == ""


def test_minus_11025_from_the_status_check_is_not_taken_for_offline(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    lose_callbacks(sim, uuid)
    sim.drop(uuid, 100012)
    start_monitor(api)
    api.wait_session(uuid, "needs_person from the monitor's check", timeout=10, state="needs_person")
    time.sleep(1.5)
    calls = sim.calls()["by_action"]
    assert calls.get("init", 0) == 1 and calls.get("automaticLogin", 0) == 0  # no re-init: the wrong cure
    assert calls.get("SecondaryValidation") == 1


@pytest.mark.simulator_settings(secondary_scan_sends_login_callbacks=True, secondary_exempts_status_calls=True)
def test_secondary_verification_on_a_generous_upstream(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    start_monitor(api)
    sim.drop(uuid, 100012)
    wait_until(lambda: api.session(uuid)["qrcode"], 10, what="the SecondaryValidation QR")
    sim.scan(uuid)
    api.wait_session(uuid, "online after the login callbacks", timeout=5, state="online", isLogin=True)
