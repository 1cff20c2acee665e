"""A logged-in account at work, over real HTTP: send texts, page both contact lists, receive messages."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SIMULATOR_SETTINGS
from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until

pytestmark = pytest.mark.e2e

CONTACT_ID = 7881302555913738
ROOM_ID = 10696052955016166


def test_send_text_reaches_the_upstream_as_sent(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]

    # A string id, a string boolean and non-ASCII text: what a JS page sends.
    sent = api.ok(
        "/api/send-text",
        {"uuid": uuid, "send_userid": str(CONTACT_ID), "isRoom": "false", "content": "你好 e2e 🚀"},
    )
    assert sent["request"] == {
        "uuid": uuid,
        "kf_id": 0,
        "send_userid": CONTACT_ID,
        "isRoom": False,
        "content": "你好 e2e 🚀",
    }
    assert sent["raw"]["errcode"] == 0 and sent["raw"]["data"]["receiver"] == CONTACT_ID
    # The old demo's camelCase field, a room, and no uuid (the active session).
    api.ok("/api/send-text", {"sendUserid": ROOM_ID, "isRoom": True, "content": "群消息"})

    received = sim.sent(uuid)
    assert [(m["send_userid"], m["isRoom"], m["content"]) for m in received] == [
        (CONTACT_ID, False, "你好 e2e 🚀"),
        (ROOM_ID, True, "群消息"),
    ]
    events = api.events(session=uuid, stage="send_text")
    assert [e["eventType"] for e in events] == ["SendTextMsg", "SendTextMsg"]

    missing = api.post("/api/send-text", {"uuid": uuid, "send_userid": CONTACT_ID, "isRoom": False})
    assert missing.status_code == 400 and missing.json()["field"] == "content"
    assert len(sim.sent(uuid)) == 2


def test_both_contact_lists_paged_to_their_ends(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    sim.reset_calls()
    inner_items: list[dict] = []
    external_items: list[dict] = []
    inner_cursor, external_cursor = "", 0
    inner_done = external_done = False
    requests_made = 0
    while not (inner_done and external_done):
        requests_made += 1
        assert requests_made <= 30, "paging did not end"
        page = api.ok(
            "/api/contacts",
            {
                "uuid": uuid,
                "inner": {"limit": 9, "strSeq": inner_cursor},
                "external": {"limit": 10, "seq": external_cursor},
            },
        )
        assert page["request"]["external"]["seq"] == external_cursor  # numeric, as the upstream documents
        inner_page, external_page = page["inner"]["data"], page["external"]["data"]
        assert page["summary"] == {"innerCount": len(inner_page["list"]), "externalCount": len(external_page["list"])}
        if not inner_done:
            inner_items += inner_page["list"]
            inner_cursor = inner_page["seq"]
            inner_done = inner_cursor == ""
        if not external_done:
            if external_page["list"]:
                external_items += external_page["list"]
                external_cursor = external_page["seq"]
            else:
                external_done = True
                assert external_page["seq"] == external_cursor

    people = [item for item in inner_items if item["is_Department"] == 0]
    departments = [item for item in inner_items if item["is_Department"] == 1]
    assert len(people) == SIMULATOR_SETTINGS["contacts_inner_people"]
    assert len({p["user_id"] for p in people}) == len(people)
    assert departments and len({d["partyid"] for d in departments}) == len(departments)
    assert len(inner_items) == len(people) + len(departments)
    assert any(str(p["user_id"]) == api.session(uuid)["vid"] for p in people)  # the account itself

    assert len(external_items) == SIMULATOR_SETTINGS["contacts_external"]
    assert len({c["user_id"] for c in external_items}) == len(external_items)
    seqs = [c["seq"] for c in external_items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # 90 external contacts in pages of 10: nine full pages, then the empty one that ends the list.
    assert requests_made == 10
    calls = sim.calls()["by_action"]
    assert calls["GetInnerContacts"] == requests_made and calls["GetExternalContacts"] == requests_made

    # The old demo's flat fields still work, with its `strSeq` for the external list.
    flat = api.ok("/api/contacts", {"innerLimit": 5, "externalLimit": 5, "externalStrSeq": str(seqs[-6])})
    assert [c["user_id"] for c in flat["external"]["data"]["list"]] == [c["user_id"] for c in external_items[-5:]]
    assert flat["summary"]["innerCount"] == 5


def test_callbacks_including_a_pushed_message_appear_in_events(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    wait_until(lambda: len(api.events(session=uuid, stage="callback")) == 4, 5, what="the login callbacks")
    before = api.session(uuid)
    pushed = sim.message(uuid, "有人在吗? 🛰", sender_name="客户A")["payload"]

    def stored() -> dict | None:
        return next(iter(api.events(session=uuid, type="102000")), None)

    event = wait_until(stored, 5, what="the 102000 event")
    assert event["stage"] == "callback"
    assert event["payload"]["content"] == "有人在吗? 🛰"
    assert event["payload"]["msg_id"] == pushed["msg_id"] and event["payload"]["sender"] == pushed["sender"]
    assert event["createdAt"].endswith("Z")

    everything = api.events()
    callback_types = [e["eventType"] for e in everything if e["stage"] == "callback" and e["sessionUuid"] == uuid]
    assert callback_types == ["102000", "104001", "100002", "100004", "100001"]  # newest first
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)
    assert api.state()["eventsCount"] >= len(everything)
    # A message does not change the session.
    assert api.session(uuid) == before
