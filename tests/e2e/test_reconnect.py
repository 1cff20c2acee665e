"""Dropped accounts come back by themselves: disconnect callbacks, the monitor's reconnect, secondary verification."""

from __future__ import annotations

import time

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until

pytestmark = pytest.mark.e2e


def start_monitor(api: ConsoleApi) -> None:
    started = api.ok("/api/monitor/start")
    assert started["monitor"]["enabled"] is True and started["monitor"]["intervalMs"] == 1000
    wait_until(lambda: api.state()["monitor"]["owner"], 5, what="the monitor to take its lease")


# 100007 is the one code RECONNECT_ON answers by default; the others: tests/e2e/test_account_safety.py.
@pytest.mark.parametrize("drop_type", [100007])
def test_a_disconnect_is_reconnected_by_the_monitor(api: ConsoleApi, sim: SimulatorControl, drop_type: int):
    old = first_login(api, sim)
    vid, old_uuid = old["vid"], old["uuid"]
    start_monitor(api)
    sim.reset_calls()
    dropped_at = time.monotonic()

    sim.drop(old_uuid, drop_type)

    def back_online() -> dict | None:
        row = api.session_of_vid(vid)
        return row if row and row["uuid"] != old_uuid and row["state"] == "online" and row["isLogin"] else None

    row = wait_until(back_online, 10, what="the account back online on a new instance")
    took = time.monotonic() - dropped_at
    new_uuid = row["uuid"]
    assert row["vid"] == vid and row["reconnectAttempts"] == 0
    # The upstream agrees: the new instance is logged in as the same account; the old one was closed.
    instances = {i["uuid"]: i for i in sim.instances()}
    assert instances[new_uuid]["isLogin"] is True and str(instances[new_uuid]["user_id"]) == vid
    assert list(instances) == [new_uuid]
    # init(vid) → CloseConnent(old) → SetCallbackUrl → automaticLogin, once; no QR code, no code.
    calls = sim.calls()
    assert calls["by_action"]["init"] == 1 and calls["by_uuid"][old_uuid].get("CloseConnent") == 1
    assert calls["by_uuid"][new_uuid].get("SetCallbackUrl") == 1
    assert calls["by_uuid"][new_uuid].get("automaticLogin") == 1
    assert calls["by_action"].get("getQrCode", 0) == 0 and calls["by_action"].get("CheckCode", 0) == 0
    wait_until(lambda: api.events(session=new_uuid, type="104001"), 5, what="104001 of the new instance")
    assert api.events(session=old_uuid, type=str(drop_type)), "the disconnect callback was not stored"
    assert [e for e in api.events(stage="reconnect") if e["eventType"] == "new-instance"]

    # Settled: further monitor passes find it online; nothing reconnects twice, nothing is left over.
    time.sleep(2.0)
    calls = sim.calls()
    assert calls["by_action"]["init"] == 1, calls["by_action"]
    assert calls["by_uuid"][new_uuid].get("GetRunClientByUuid", 0) >= 2  # checked by the monitor
    row = api.session_of_vid(vid)
    assert row["uuid"] == new_uuid and row["state"] == "online" and row["nextActionAt"] == ""
    assert [r["vid"] for r in api.sessions()].count(vid) == 1
    monitor = api.state()["monitor"]
    assert monitor["enabled"] is True and monitor["lastReconnectAt"] and monitor["lastCheckAt"]
    print(f"\n[measure] {drop_type}: back online {took:.2f} s after the drop")


@pytest.mark.parametrize(
    "uuid_is_vid",
    [
        pytest.param(True, id="uuid-is-vid"),
        pytest.param(False, id="random-uuid", marks=pytest.mark.simulator_settings(init_uuid_is_vid=False)),
    ],
)
def test_failed_and_replaced_reconnects_leave_one_instance_on_the_upstream(
    api: ConsoleApi, sim: SimulatorControl, uuid_is_vid: bool
):
    """Issue 11.14: the account needs a scan, so the monitor's three automatic logins are refused and a person
    then asks for two reconnects: five inits. Each one that gives a new uuid closes the instance the account
    left; one that gives the same uuid (init with the vid, as the real upstream does) replaced it itself."""
    old = first_login(api, sim)
    vid = old["vid"]
    assert len(sim.instances()) == 1
    sim.flag_account(int(vid), needs_scan=True)
    start_monitor(api)
    sim.reset_calls()

    sim.drop(old["uuid"], 100007)

    def waiting_for_a_person() -> dict | None:
        row = api.session_of_vid(vid)
        return row if row and row["state"] == "needs_person" and row["qrcode"] else None

    row = wait_until(waiting_for_a_person, 15, what="three refused attempts, then a QR for a person")
    for _ in range(2):  # a person presses "reconnect" twice; the account still needs a scan
        row = api.ok("/api/sessions/reconnect", {"uuid": row["uuid"]})["session"]
        assert row["state"] == "needs_person" and row["qrcode"]
    calls = sim.calls()["by_action"]
    assert calls["init"] == 5 and calls["automaticLogin"] == 5
    assert calls["CloseConnent"] == (1 if uuid_is_vid else 5)  # the first login's uuid was random either way
    instances = sim.instances()
    assert [i["uuid"] for i in instances] == [row["uuid"]] and instances[0]["qr_key"] == row["qrcodeKey"]
    print(
        f"\n[measure] {'uuid = vid' if uuid_is_vid else 'random uuids'}: instances on the upstream after "
        f"3 refused reconnects and 2 by a person: {len(instances)}"
    )


# Callback dedup (services/intake/callbacks.py `dedup_key`) keys a non-message callback on uuid + type + payload for
# CALLBACK_DEDUP_HOURS; a second genuine 104001 on the same instance has the same payload and is dropped.


def secondary_verification_pending(api: ConsoleApi, sim: SimulatorControl) -> dict:
    """Log in, start the monitor, have the upstream demand secondary verification; wait for its QR code."""
    uuid = first_login(api, sim)["uuid"]
    start_monitor(api)
    sim.reset_calls()
    sim.drop(uuid, 100012)

    def qr_ready() -> dict | None:
        current = api.session(uuid)
        return current if current and current["state"] == "needs_person" and current["qrcode"] else None

    return wait_until(qr_ready, 10, what="needs_person with a SecondaryValidation QR")


def test_secondary_verification_waits_for_a_person_with_its_qr(api: ConsoleApi, sim: SimulatorControl):
    row = secondary_verification_pending(api, sim)
    uuid = row["uuid"]
    instance = next(i for i in sim.instances() if i["uuid"] == uuid)
    assert instance["secondary_pending"] is True
    assert row["qrcodeKey"] == instance["secondary_qr_key"]
    assert row["isLogin"] is False and row["stateReason"]
    assert api.events(session=uuid, type="100012")
    # While verification is pending, calls fail with the upstream's -11025, reported as such.
    body = {"uuid": uuid, "send_userid": 7881302555913738, "isRoom": False, "content": "x"}
    refused = api.post("/api/send-text", body)
    assert refused.status_code == 502 and refused.json()["ok"] is False
    assert "-11025" in refused.json()["message"]
    # The monitor fetched one QR and then left the session alone: no re-init under a person's feet.
    time.sleep(1.5)
    calls = sim.calls()["by_action"]
    assert calls.get("SecondaryValidation") == 1 and calls.get("init", 0) == 0
    assert api.session(uuid)["state"] == "needs_person"


def test_after_secondary_verification_the_scan_brings_it_back_online(api: ConsoleApi, sim: SimulatorControl):
    row = secondary_verification_pending(api, sim)
    uuid, vid = row["uuid"], row["vid"]

    scanned = sim.scan(uuid)  # a person scans the SecondaryValidation QR and confirms on the phone

    # The docs promise no callback after that: the monitor's re-check (one monitor interval) notices.
    assert scanned["needCode"] is False
    api.wait_session(uuid, "login after secondary verification", timeout=5, state="online", isLogin=True, vid=vid)
    assert sim.calls()["by_action"].get("init", 0) == 0
    assert not [e for e in api.events(session=uuid, type="104001") if e["createdAt"] > row["updatedAt"]]
    assert api.session(uuid)["qrcode"] == ""
