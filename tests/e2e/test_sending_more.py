"""Sending more than text over real HTTP against the simulator, on SQLite and MariaDB: @mentions, images and
files by URL and by upload (two upstream steps behind one call), bad sources refused before anything goes
upstream, the second step failing after the first, and revoke of what we sent."""

from __future__ import annotations

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, free_port
from tests.e2e.media_host import MediaHost, png_bytes

pytestmark = pytest.mark.e2e

CONTACT_ID = 7881302555913738


def _room_with_members(api: ConsoleApi) -> tuple[str, list[str], str]:
    room = api.get("/api/rooms").json()["rooms"][0]
    members = api.get(f"/api/rooms/{room['roomId']}/members").json()["members"]
    own = api.state()["active"]["vid"]
    return room["roomId"], [m["userId"] for m in members if m["userId"] != own], own


def _calls(sim: SimulatorControl) -> dict:
    return sim.calls()["by_action"]


def test_text_with_at_and_at_all_in_a_room_and_refused_on_a_one_to_one_chat(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    room_id, others, _own = _room_with_members(api)

    at = api.ok("/api/send-text", {"send_userid": room_id, "isRoom": True, "content": "看这里", "at": others[:2]})
    assert at["request"] == {
        "uuid": uuid,
        "send_userid": int(room_id),
        "atids": [int(others[0]), int(others[1])],
        "content": "看这里",
        "isRoom": True,
    }
    assert at["msgId"].isdigit() and at["serverId"].isdigit()
    everyone = api.ok("/api/send-text", {"send_userid": room_id, "isRoom": "true", "content": "通知", "atAll": True})
    assert everyone["request"]["contentva"] == [{"msgtype": 0, "content": "通知"}, {"msgtype": 5, "vid": 0}]
    assert [e["eventType"] for e in api.events(session=uuid, stage="send_text")] == [
        "SendTextAtMsgTwo",
        "SendTextAtMsg",
    ]
    sent = sim.sent(uuid)
    assert [(m["send_userid"], m.get("at"), m.get("atAll")) for m in sent] == [
        (int(room_id), [int(others[0]), int(others[1])], False),
        (int(room_id), [], True),
    ]
    assert str(sent[0]["msg_id"]) == at["msgId"]

    before = _calls(sim)
    for field, extra in (("at", {"at": [others[0]]}), ("atAll", {"atAll": True})):
        refused = api.post("/api/send-text", {"send_userid": CONTACT_ID, "isRoom": False, "content": "x", **extra})
        assert refused.status_code == 400 and refused.json()["field"] == field, refused.text
    bad = api.post("/api/send-text", {"send_userid": room_id, "isRoom": True, "content": "x", "at": ["abc"]})
    assert bad.status_code == 400 and bad.json()["field"] == "at"
    assert _calls(sim) == before  # nothing went upstream
    assert len(sim.sent(uuid)) == 2


def test_image_and_file_by_url_and_by_upload(api: ConsoleApi, sim: SimulatorControl, media_host: MediaHost):
    uuid = first_login(api, sim)["uuid"]
    image = api.ok("/api/send-image", {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/pic.png")})
    assert image["upload"]["request"] == {"uuid": uuid, "url": media_host.link("/pic.png")}
    uploaded = image["upload"]["raw"]["data"]
    # The upload's fields carried over exactly into the send step.
    assert image["request"]["cdnkey"] == uploaded["cdn_key"] and image["request"]["aeskey"] == uploaded["aes_key"]
    assert image["request"]["md5"] == uploaded["md5"] and image["request"]["fileSize"] == uploaded["size"]
    assert image["request"]["thumb_file_md5"] == uploaded["thumb_file_md5"]
    assert image["msgId"].isdigit() and image["raw"]["data"]["msgtype"] == 14

    chunked = api.ok(
        "/api/send-image", {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/photo.jpg")}
    )
    assert chunked["raw"]["data"]["msgtype"] == 14

    with_upload = api.http.post(
        f"{api.url}/api/send-image",
        data={"send_userid": str(CONTACT_ID), "isRoom": "false"},
        files={"file": ("本地.png", png_bytes(30, 30), "image/png")},
        timeout=10,
    )
    assert with_upload.status_code == 200, with_upload.text
    assert with_upload.json()["upload"]["request"] == {
        "uuid": uuid,
        "file": {"filename": "本地.png", "size": len(png_bytes(30, 30)), "contentType": "image/png"},
    }

    document = api.ok(
        "/api/send-file",
        {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/report.pdf"), "filename": "季度报告.pdf"},
    )
    assert document["upload"]["request"]["filename"] == "季度报告.pdf"
    assert document["request"]["file_name"] == "季度报告.pdf" and document["raw"]["data"]["msgtype"] == 15
    named_by_url = api.ok(
        "/api/send-file", {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/report.pdf")}
    )
    assert named_by_url["request"]["file_name"] == "report.pdf"
    upload_file = api.http.post(
        f"{api.url}/api/send-file",
        data={"send_userid": str(CONTACT_ID), "isRoom": "0"},
        files={"file": ("notes.txt", "会议纪要\n".encode(), "text/plain")},
        timeout=10,
    )
    assert upload_file.status_code == 200, upload_file.text
    assert upload_file.json()["request"]["file_name"] == "notes.txt"

    kinds = [(m["msgtype"], m.get("file_name", "")) for m in sim.sent(uuid)]
    assert kinds == [(14, ""), (14, ""), (14, ""), (15, "季度报告.pdf"), (15, "report.pdf"), (15, "notes.txt")]
    stages = [e["stage"] for e in reversed(api.events(session=uuid)) if e["stage"].startswith(("upload_", "send_"))]
    assert stages == ["upload_image", "send_image"] * 3 + ["upload_file", "send_file"] * 3


def test_bad_sources_are_refused_naming_the_field_and_nothing_goes_upstream(
    make_console, sim: SimulatorControl, media_host: MediaHost
):
    console = make_console(MEDIA_MAX_BYTES=1024 * 1024, MEDIA_FETCH_TIMEOUT_S=2)
    api = ConsoleApi(console.url)
    uuid = first_login(api, sim)["uuid"]
    sim.reset_calls()
    base = {"send_userid": CONTACT_ID, "isRoom": False}
    cases = [
        ("/api/send-image", {"url": "ftp://example.test/a.png"}, "url", "http(s)"),
        ("/api/send-image", {"url": f"http://127.0.0.1:{free_port()}/gone.png"}, "url", "cannot be fetched"),
        ("/api/send-image", {"url": media_host.link("/missing")}, "url", "HTTP 404"),
        ("/api/send-image", {"url": media_host.link("/page.html")}, "url", "not an image"),
        ("/api/send-image", {"url": media_host.link("/big.bin")}, "url", "MEDIA_MAX_BYTES"),
        ("/api/send-file", {"url": media_host.link("/big.bin")}, "url", "MEDIA_MAX_BYTES"),
        ("/api/send-image", {}, "url", "required"),
        ("/api/send-file", {"url": media_host.link("/report.pdf"), "filename": "../x"}, "filename", "file name"),
    ]
    for path, extra, field, words in cases:
        answer = api.post(path, {**base, **extra})
        assert answer.status_code == 400, (extra, answer.text)
        assert answer.json()["field"] == field and words in answer.json()["message"], answer.json()

    not_image = api.http.post(
        f"{api.url}/api/send-image",
        data={"send_userid": str(CONTACT_ID), "isRoom": "false"},
        files={"file": ("a.png", b"plain text", "image/png")},
        timeout=10,
    )
    assert not_image.status_code == 400 and not_image.json()["field"] == "file"
    too_big = api.http.post(
        f"{api.url}/api/send-file",
        data={"send_userid": str(CONTACT_ID), "isRoom": "false"},
        files={"file": ("a.bin", b"\0" * (2 * 1024 * 1024), "application/octet-stream")},
        timeout=10,
    )
    assert too_big.status_code == 413 and too_big.json()["ok"] is False
    assert _calls(sim) == {}  # nothing reached the upstream
    assert sim.sent(uuid) == []
    assert api.get("/api/sent").json()["messages"] == []


def test_a_failed_send_step_after_a_good_upload_is_a_502_with_both_steps_recorded(
    api: ConsoleApi, sim: SimulatorControl, media_host: MediaHost
):
    uuid = first_login(api, sim)["uuid"]
    sim.set_fault("http500", actions=["SendCDNImgMsg"], count=1)
    failed = api.post(
        "/api/send-image", {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/pic.png")}
    )
    assert failed.status_code == 502, failed.text
    body = failed.json()
    assert body["stage"] == "SendCDNImgMsg" and "CdnUploadImgLink succeeded" in body["message"]
    recorded = [(e["stage"], e["eventType"]) for e in api.events(session=uuid) if e["stage"] != "callback"]
    assert recorded[:2] == [("send_image_error", "SendCDNImgMsg:http_error"), ("upload_image", "CdnUploadImgLink")]
    assert sim.sent(uuid) == []
    sim.set_fault("hang", actions=["SendCDNFileMsg"], count=1, hang_s=5)
    hung = api.post(
        "/api/send-file", {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/report.pdf")}
    )
    assert hung.status_code == 502 and hung.json()["upstream"]["kind"] == "timeout"  # a timeout of step 2: 502 too
    sim.clear_faults()
    assert api.ok("/api/send-image", {"send_userid": CONTACT_ID, "isRoom": False, "url": media_host.link("/pic.png")})


def test_revoke_what_we_sent_and_only_that(api: ConsoleApi, sim: SimulatorControl):
    uuid = first_login(api, sim)["uuid"]
    room_id, _others, _own = _room_with_members(api)
    to_person = api.ok("/api/send-text", {"send_userid": CONTACT_ID, "isRoom": False, "content": "发错了"})
    to_room = api.ok("/api/send-text", {"send_userid": room_id, "isRoom": True, "content": "群里发错了"})
    listed = api.get("/api/sent", uuid=uuid).json()["messages"]
    assert [(m["msgId"], m["status"], m["conversation"]) for m in listed] == [
        (to_room["msgId"], "sent", room_id),
        (to_person["msgId"], "sent", str(CONTACT_ID)),
    ]

    revoked = api.ok("/api/revoke", {"uuid": uuid, "msgId": to_person["msgId"]})
    assert revoked["request"] == {"uuid": uuid, "msgid": int(to_person["msgId"]), "roomid": 0}
    room_revoke = api.ok("/api/revoke", {"msgId": to_room["msgId"], "roomId": room_id})
    assert room_revoke["request"]["roomid"] == int(room_id)
    assert [m["status"] for m in api.get("/api/sent").json()["messages"]] == ["revoked", "revoked"]

    again = api.post("/api/revoke", {"msgId": to_person["msgId"]})
    assert again.status_code == 409 and again.json()["code"] == "already_revoked"
    sim.reset_calls()
    # A message the upstream knows but we did not send through this app: a 404, and the upstream is not asked.
    pushed = sim.message(uuid, "别人发的")["payload"]
    for msg_id in (pushed["msg_id"], 123):
        unknown = api.post("/api/revoke", {"msgId": msg_id})
        assert unknown.status_code == 404 and unknown.json()["field"] == "msgId", unknown.text
        assert unknown.json()["code"] == "unknown_message"
    assert "RevokeMsg" not in _calls(sim)
    assert api.post("/api/revoke", {}).json()["field"] == "msgId"
