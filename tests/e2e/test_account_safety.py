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


@pytest.mark.parametrize("code", [100005, 100008])
def test_ended_on_the_phone_or_taken_by_another_device_waits_for_a_person(
    api: ConsoleApi, sim: SimulatorControl, code: int
):
    uuid = first_login(api, sim)["uuid"]
    start_monitor(api)
    sim.reset_calls()
    message = sim.drop(uuid, code)["payload"]["msg"]
    row = api.wait_session(uuid, f"needs_person after {code}", timeout=5, state="needs_person", isLogin=False)
    assert row["stateReason"] == message  # the upstream's own words: 手机端结束登录 / 当前账号在其他设备登录…
    wait_until(lambda: len(alerts(api, uuid)) == 1, 5, what="one alert")
    assert alerts(api, uuid)[0]["payload"]["reason"] == message
    time.sleep(2.5)  # several monitor intervals: no silent reconnect, no second alert
    assert sim.calls()["by_action"].get("init", 0) == 0 and sim.calls()["by_action"].get("automaticLogin", 0) == 0
    assert len(alerts(api, uuid)) == 1 and api.session(uuid)["state"] == "needs_person"


def test_reconnect_on_lets_100008_reconnect_silently(make_console, sim: SimulatorControl):
    console = make_console(RECONNECT_ON=(100007, 100008))
    api = ConsoleApi(console.url)
    try:
        row = first_login(api, sim)
        start_monitor(api)
        sim.reset_calls()
        sim.drop(row["uuid"], 100008)

        def back() -> dict | None:
            current = api.session_of_vid(row["vid"])
            logins = sim.calls()["by_action"].get("automaticLogin", 0)
            return current if logins and current and current["state"] == "online" else None

        wait_until(back, 10, what="the silent reconnect after 100008")
        assert not alerts(api, row["uuid"])
    finally:
        api.close()


def test_corp_switch_is_followed_by_later_reconnects(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    uuid = row["uuid"]
    switched = sim.event(uuid, 100006, corp_name="星河贸易")["payload"]
    assert switched["this_vid"] == int(row["vid"])
    moved = api.wait_session(uuid, "the account id follows 100006", timeout=5, vid=str(switched["vid"]))
    assert moved["account"]["corp"] == "星河贸易" and moved["state"] == "online"
    start_monitor(api)
    sim.reset_calls()
    sim.drop(uuid, 100007)

    def back() -> dict | None:
        current = api.session_of_vid(str(switched["vid"]))
        return current if current and current["state"] == "online" and sim.calls()["by_action"].get("init") else None

    again = wait_until(back, 10, what="the reconnect under the new id")
    instance = next(i for i in sim.instances() if i["uuid"] == again["uuid"])
    assert instance["vid"] == switched["vid"] and instance["user_id"] == switched["vid"]


@pytest.mark.parametrize(("kind", "code"), [("ban", 102000), ("102001", 102001), ("102002", 102002)])
def test_ban_and_restriction_notices_are_recorded_explained_shown_and_alerted(
    api: ConsoleApi, sim: SimulatorControl, kind: str, code: int
):
    uuid = first_login(api, sim)["uuid"]
    start_monitor(api)
    sent = sim.event(uuid, kind, contact=7881302555913738)["payload"]

    def noticed() -> dict | None:
        notice = api.session(uuid)["notice"]
        return notice if notice and (kind != "ban" or notice.get("title")) else None

    notice = wait_until(noticed, 10, what="the notice on the account")
    assert notice["text"] == sent["msg"] and notice["at"]
    if kind == "ban":
        # getBanDetile explained the link: title, reason, functions and the end of the ban.
        assert notice["kind"] == "ban" and notice["reason"] and notice["functions"] and notice["finish"]
        assert "url" not in notice  # the link carries a key: it stays on the server
        assert api.events(session=uuid, stage="ban_detail")
    else:
        assert notice["kind"] == {102001: "deleted", 102002: "blocked"}[code]
    alert = wait_until(lambda: [a for a in alerts(api, uuid) if a["eventType"] == "notice"], 5, what="the alert")
    assert len(alert) == 1 and alert[0]["payload"]["notice"]["kind"] == notice["kind"]
    assert api.session(uuid)["state"] == "online"  # a notice is news, not a disconnect


def test_online_but_deaf_is_flagged_with_one_alert_and_cleared_by_a_callback(make_console, sim: SimulatorControl):
    console = make_console(SILENCE_ALERT_S=2.0)
    api = ConsoleApi(console.url)
    try:
        uuid = first_login(api, sim)["uuid"]
        start_monitor(api)
        assert api.session(uuid)["silentSince"] == ""
        row = wait_until(lambda: api.session(uuid)["silentSince"] and api.session(uuid), 8, what="silentSince")
        assert row["state"] == "online" and row["isLogin"] is True  # the upstream still says online
        wait_until(lambda: [a for a in alerts(api, uuid) if a["eventType"] == "silent"], 5, what="the alert")
        time.sleep(1.5)
        assert len([a for a in alerts(api, uuid) if a["eventType"] == "silent"]) == 1
        sim.message(uuid, "还在吗")
        wait_until(lambda: api.session(uuid)["silentSince"] == "", 5, what="silentSince cleared by a callback")
    finally:
        api.close()


def test_other_callbacks_are_recognised_and_recorded(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    for type_ in ("102006", "116001", *map(str, range(115001, 115010))):
        sim.event(uuid, type_)
    wanted = {"102006", "116001", *map(str, range(115001, 115010))}

    def stored() -> bool:
        return wanted <= {e["eventType"] for e in api.events(session=uuid, stage="callback")}

    wait_until(stored, 10, what="every callback stored")
    assert api.session(uuid)["state"] == "online" and api.session(uuid)["notice"] is None
