"""Rooms, members and friend requests over real HTTP against the simulator, on SQLite and MariaDB."""

from __future__ import annotations

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until

pytestmark = pytest.mark.e2e

MAX_SAFE_INTEGER = 2**53


def _calls(sim: SimulatorControl, action: str) -> int:
    return sim.calls()["by_action"].get(action, 0)


@pytest.mark.simulator_settings(rooms_per_account=230)
def test_rooms_are_paged_to_the_end_cached_and_refreshed_by_room_callbacks(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    sim.reset_calls()

    first = api.get("/api/rooms").json()
    assert first["ok"] is True and first["cached"] is False and first["count"] == 230
    rooms = first["rooms"]
    assert len({room["roomId"] for room in rooms}) == 230
    # Room ids beyond 2^53 are JSON strings, exact (a float would have lost their last digits).
    assert all(isinstance(room["roomId"], str) and room["roomId"].isdigit() for room in rooms)
    assert all(int(room["roomId"]) > MAX_SAFE_INTEGER for room in rooms)
    assert all(isinstance(room["total"], int) and room["total"] >= 2 for room in rooms)
    assert any(room["name"] == "" for room in rooms) or all(room["name"] for room in rooms)
    # Pages of 100 by offset: 100, 100, 30, then the empty page that ends the list.
    assert _calls(sim, "GetSessionRoomList") == 4
    assert [e["payload"]["rooms"] for e in api.events(session=uuid, stage="get_rooms")] == [230]

    again = api.get("/api/rooms", uuid=uuid).json()
    assert again["cached"] is True and again["rooms"] == rooms
    assert _calls(sim, "GetSessionRoomList") == 4  # served from the database

    renamed = rooms[5]["roomId"]
    sim.event(uuid, 115005, room_id=renamed)  # renamed: the simulator's room is now "新的群名"
    wait_until(lambda: api.events(session=uuid, type="115005"), 5, what="the 115005 callback stored")
    after_change = api.get("/api/rooms").json()
    assert after_change["cached"] is False and _calls(sim, "GetSessionRoomList") == 8
    assert next(r for r in after_change["rooms"] if r["roomId"] == renamed)["name"] == "新的群名"
    assert api.get("/api/rooms").json()["cached"] is True

    forced = api.get("/api/rooms", refresh="true").json()
    assert forced["cached"] is False and _calls(sim, "GetSessionRoomList") == 12

    bad = api.get("/api/rooms", refresh="maybe")
    assert bad.status_code == 400 and bad.json()["field"] == "refresh"


def test_members_of_a_room_and_an_unknown_room(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    room = api.get("/api/rooms").json()["rooms"][2]
    answer = api.get(f"/api/rooms/{room['roomId']}/members", uuid=uuid)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["room"]["roomId"] == room["roomId"] and body["room"]["name"] == room["name"]
    members = body["members"]
    assert len(members) == room["total"] == body["room"]["total"]
    assert all(m["userId"].isdigit() and m["joinTime"].endswith("Z") for m in members)
    assert api.session(uuid)["vid"] in {m["userId"] for m in members}  # the account itself is a member
    assert all(m["name"] for m in members if m["userId"] != api.session(uuid)["vid"]) or members
    events = api.events(session=uuid, stage="get_room_members")
    assert events and events[0]["payload"]["request"]["roomid"] == int(room["roomId"])

    sim.reset_calls()
    for unknown in ("10696052955000001", "12", "not-a-room"):
        missing = api.get(f"/api/rooms/{unknown}/members")
        assert missing.status_code == 404, missing.text
        assert missing.json()["ok"] is False and "unknown room" in missing.json()["message"]
    assert _calls(sim, "GetRoomUserList") == 0  # never asked for a room the account is not in


def test_friend_requests_from_callbacks_and_the_list_then_accepted(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    pushed = sim.event(uuid, 116001)["payload"]["list"][0]
    applicant = str(pushed["user_id"])
    wait_until(lambda: api.events(session=uuid, type="116001"), 5, what="the 116001 callback stored")

    listed = api.get("/api/friend-requests").json()
    requests = {r["userId"]: r for r in listed["requests"]}
    # The simulator starts each account with 2 waiting, 1 accepted and 1 deleted; plus the one just pushed.
    statuses = sorted(r["status"] for r in listed["requests"])
    assert statuses == ["accepted", "deleted", "waiting", "waiting", "waiting"]
    assert requests[applicant]["source"] == "callback" and requests[applicant]["status"] == "waiting"
    assert requests[applicant]["name"] == pushed["nickname"]
    assert [r["status"] for r in listed["requests"]][:3] == ["waiting"] * 3  # waiting ones first

    accepted = api.ok("/api/friend-requests/accept", {"uuid": uuid, "vid": applicant})
    assert accepted["request"] == {"uuid": uuid, "corpid": 0, "vid": int(applicant)}
    assert accepted["friend"]["status"] == "accepted" and accepted["friend"]["userId"] == applicant
    assert {r["userId"]: r["status"] for r in api.get("/api/friend-requests").json()["requests"]}[applicant] == (
        "accepted"
    )
    # The upstream now has no waiting request of theirs: accepting again is its refusal, passed on.
    again = api.post("/api/friend-requests/accept", {"vid": applicant})
    assert again.status_code == 502 and again.json()["upstream"]["kind"] == "refused"
    assert api.post("/api/friend-requests/accept", {}).json()["field"] == "vid"
