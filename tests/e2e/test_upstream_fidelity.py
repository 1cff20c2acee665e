"""The console against the simulator as the vendor docs describe the upstream (its realistic default), and
against the opt-in generous variants where the product must cope with both.

Docs: upstream-api-more.md §7 (account-safety facts), 20-callback-login (104001), 21-callback-message (rooms),
00-basic 自动登录重连流程 (the upstream restarts), A16 (init with an id answers with that id as the uuid).
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until

pytestmark = pytest.mark.e2e

ROOM_ID = "10817857838351957"  # a room id of the docs: a numeric string above 2^53


def start_monitor(api: ConsoleApi) -> None:
    api.ok("/api/monitor/start")
    wait_until(lambda: api.state()["monitor"]["owner"], 5, what="the monitor to take its lease")


def back_online(api: ConsoleApi, sim: SimulatorControl, vid: str, logins: int, timeout: float = 10) -> dict:
    """Wait until the upstream saw `logins` automatic logins and the account's row is online again."""

    def check() -> dict | None:
        if sim.calls()["by_action"].get("automaticLogin", 0) < logins:
            return None
        row = api.session_of_vid(vid)
        return row if row and row["state"] == "online" and row["isLogin"] else None

    return wait_until(check, timeout, what=f"automatic login {logins} and the account online")


def test_login_success_without_vid_in_104001_stores_the_account(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    payload = next(e for e in api.events(session=row["uuid"], stage="callback") if e["eventType"] == "104001")
    assert payload["payload"]["Vid"] == 0 and payload["payload"]["Corp_name"] == ""  # as in the docs' sample
    assert row["vid"] == str(payload["payload"]["user_id"])
    assert row["account"]["corp"] and row["account"]["name"]


@pytest.mark.parametrize(
    "uuid_is_vid",
    [
        pytest.param(True, id="uuid-is-vid"),
        pytest.param(False, id="random-uuid", marks=pytest.mark.simulator_settings(init_uuid_is_vid=False)),
    ],
)
def test_reconnects_with_the_same_uuid_or_a_new_one(api: ConsoleApi, sim: SimulatorControl, uuid_is_vid: bool):
    row = first_login(api, sim)
    vid = row["vid"]
    start_monitor(api)
    sim.reset_calls()
    uuids = [row["uuid"]]
    for logins in (1, 2):
        sim.drop(uuids[-1], 100007)
        back = back_online(api, sim, vid, logins)
        # Online means the upstream's instance of that uuid is logged in as the account.
        instance = next(i for i in sim.instances() if i["uuid"] == back["uuid"])
        assert instance["isLogin"] is True and str(instance["user_id"]) == vid
        uuids.append(back["uuid"])
        wait_until(lambda: sim.calls()["by_uuid"].get(uuids[-1], {}).get("GetRunClientByUuid"), 5, what="a check")
    if uuid_is_vid:
        assert uuids[1] == uuids[2] == vid  # the second reconnect keeps the uuid
    else:
        assert len(set(uuids)) == 3
    assert [r["vid"] for r in api.sessions()].count(vid) == 1


def test_room_ids_are_numeric_strings(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    pushed = sim.message(uuid, "群里好", is_room=True)["payload"]
    assert pushed["room_conversation_id"] == ROOM_ID and pushed["receiver"] == 0
    wait_until(lambda: api.events(session=uuid, type="102000"), 5, what="the room message stored")
    body = {"uuid": uuid, "send_userid": ROOM_ID, "isRoom": True, "content": "收到"}
    api.ok("/api/send-text", body)
    sent = sim.sent(uuid)[-1]
    assert sent["send_userid"] == int(ROOM_ID) and sent["isRoom"] is True


def test_after_an_upstream_restart_the_monitor_logs_accounts_back_in(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    vid = row["vid"]
    start_monitor(api)
    sim.reset_calls()
    restarted = sim.restart(down_s=1.5)
    assert restarted["dropped"] == 1

    back = back_online(api, sim, vid, 1, timeout=15)
    by_action = sim.calls()["by_action"]
    # 自动登录重连流程: init(vid) → automaticLogin, no QR code and no person.
    assert by_action.get("automaticLogin", 0) >= 1 and by_action.get("getQrCode", 0) == 0
    assert back["uuid"] == vid  # init with the id answers with the id as the uuid
    time.sleep(1.5)
    assert api.session_of_vid(vid)["state"] == "online"
