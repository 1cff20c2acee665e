"""Catch-up end to end: callbacks lost while the app could not take them are fetched again after a reconnect.

The simulator drops message callbacks for a while (as when the app was down: the upstream does not retry),
then the account is disconnected; the monitor reconnects it (init → SetCallbackUrl → automaticLogin) and
calls SyncAllData from exactly the last server_id the app received; the simulator pushes the missed
messages again with `issync: true`. Every message is then in the inbox exactly once, on SQLite and MariaDB.
"""

from __future__ import annotations

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until
from tests.e2e.test_reconnect import start_monitor

pytestmark = pytest.mark.e2e


def inbox(api: ConsoleApi, account: str) -> list[dict]:
    response = api.get("/api/messages", account=account, limit=500)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_messages_lost_while_down_come_back_once_after_a_reconnect(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    vid, old_uuid = row["vid"], row["uuid"]
    live = [sim.message(old_uuid, f"live {n}")["payload"] for n in range(3)]
    wait_until(lambda: len(inbox(api, vid)) == 3, 10, what="the live messages stored")
    last_seen = max(int(m["server_id"]) for m in live)

    sim._call("POST", "callbacks/drop", {"seconds": 60})
    lost = [sim.message(old_uuid, f"lost {n}")["payload"] for n in range(5)]
    sim._call("POST", "callbacks/drop", {"seconds": 0})
    assert len(inbox(api, vid)) == 3  # the app never heard of them
    sim.reset_calls()

    start_monitor(api)
    sim.drop(old_uuid, 100007)  # login cache invalid: the monitor reconnects on a new instance
    new = wait_until(
        lambda: (r := api.session_of_vid(vid)) and r["uuid"] != old_uuid and r["state"] == "online" and r,
        15,
        what="the account back online",
    )
    wait_until(lambda: len(inbox(api, vid)) == 8, 15, what="the lost messages fetched again")

    messages = inbox(api, vid)
    contents = sorted(m["content"] for m in messages)
    assert contents == sorted([f"live {n}" for n in range(3)] + [f"lost {n}" for n in range(5)])
    assert len({m["serverId"] for m in messages}) == 8
    assert all(m["isSync"] for m in messages if m["content"].startswith("lost"))
    assert {m["serverId"] for m in messages if m["content"].startswith("lost")} == {str(p["server_id"]) for p in lost}
    # SyncAllData on the new instance, from exactly the last server_id received. (The first login asks too, on
    # the old instance, in a thread of its own: late under load, it may ask after the live messages arrived.)
    sync_events = [
        e for e in api.events(stage="catch_up") if e["eventType"] == "SyncAllData" and e["sessionUuid"] == new["uuid"]
    ]
    assert sync_events
    # The login callback and the reconnect both ask, concurrently: one from exactly the last server_id received
    # before, the other may start past part of the replay (and its event may be recorded first).
    seqs = [e["payload"]["request"]["seq"] for e in sync_events]
    assert min(seqs) == last_seen, seqs
    assert len(inbox(api, vid)) == 8


def test_the_simulators_duplicates_and_room_messages_are_stored_once(api: ConsoleApi, sim: SimulatorControl):
    row = first_login(api, sim)
    vid, uuid = row["vid"], row["uuid"]
    sim.message(uuid, "in a room", is_room=True)
    sim._call("POST", "event", {"uuid": uuid, "type": "duplicate"})  # the same message again, referid != 0
    sim._call("POST", "event", {"uuid": uuid, "type": "116001"})  # a friend request: kept in the inbox too
    wait_until(lambda: len(inbox(api, vid)) == 2, 10, what="the room message and the friend request")
    wait_until(lambda: len(sim.callbacks(uuid)) >= 5, 10, what="every callback delivered")
    messages = inbox(api, vid)
    room = next(m for m in messages if m["type"] == 102000)
    assert room["isRoom"] is True and room["receiver"] == "" and room["conversation"].isdigit()
    assert int(room["conversation"]) > 2**53 and room["content"] == "in a room"
    assert [m["type"] for m in messages].count(102000) == 1
