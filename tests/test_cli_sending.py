"""`wxwork send|rooms|friends …`: the commands call the services the views call, against the simulator."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import make_test_app
from tests.support import add_session, close_app


@pytest.fixture
def online(database_url, simulator):
    """An app on the simulator with one logged-in instance (as a finished login leaves its row)."""
    app = make_test_app(database_url, BASE_URL=simulator.url, MONITOR_AUTOSTART=False, SEND_MIN_INTERVAL_MS=0)
    reply = requests.post(f"{simulator.url}/_sim/bulk-login", json={"count": 1}, timeout=10)
    reply.raise_for_status()
    instance = reply.json()["instances"][0]
    add_session(app, instance["uuid"], vid=str(instance["vid"]), is_login=True, state="online")
    yield app, instance
    close_app(app)


def test_rooms_list_and_members(online):
    app, instance = online
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["rooms", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rooms = json.loads(listed.output)["rooms"]
    assert len(rooms) == 23 and all(isinstance(room["roomId"], str) for room in rooms)

    table = runner.invoke(args=["rooms", "list"])
    assert table.exit_code == 0 and table.output.splitlines()[0].split() == ["ROOM", "ID", "NAME", "MEMBERS", "OWNER"]
    assert rooms[0]["roomId"] in table.output and "23 rooms (cached" in table.output

    members = runner.invoke(args=["rooms", "members", rooms[0]["roomId"], "--uuid", instance["uuid"]])
    assert members.exit_code == 0, members.output
    assert f"{rooms[0]['roomId']} · {rooms[0]['total']} members" in members.output
    assert str(instance["vid"]) in members.output

    unknown = runner.invoke(args=["rooms", "members", "123"])
    assert unknown.exit_code == 1 and "unknown room '123'" in unknown.output


def test_friends_list_and_accept(online):
    app, _instance = online
    runner = app.test_cli_runner()
    listed = json.loads(runner.invoke(args=["friends", "list", "--json"]).output)["requests"]
    waiting = [r for r in listed if r["status"] == "waiting"]
    assert len(waiting) == 2
    accepted = runner.invoke(args=["friends", "accept", waiting[0]["userId"]])
    assert accepted.exit_code == 0 and accepted.output.startswith(f"accepted {waiting[0]['userId']}")
    table = runner.invoke(args=["friends", "list"]).output
    line = next(line for line in table.splitlines() if line.startswith(waiting[0]["userId"]))
    assert "accepted" in line.split()
    refused = runner.invoke(args=["friends", "accept", waiting[0]["userId"]])
    assert refused.exit_code == 1 and "AgreeUser refused" in refused.output
    assert runner.invoke(args=["friends", "accept", "abc"]).exit_code == 2


def test_send_text_image_file_and_revoke(online, tmp_path):
    from tests.e2e.media_host import png_bytes

    app, instance = online
    runner = app.test_cli_runner()
    contact = "7881302555913738"
    text = runner.invoke(args=["send", "text", contact, "命令行发的", "--json"])
    assert text.exit_code == 0, text.output
    sent = json.loads(text.output)
    assert sent["request"]["content"] == "命令行发的" and sent["msgId"].isdigit()

    refused = runner.invoke(args=["send", "text", contact, "x", "--at", "123"])
    assert refused.exit_code == 1 and "rooms only" in refused.output

    picture = tmp_path / "截图.png"
    picture.write_bytes(png_bytes(40, 30))
    image = runner.invoke(args=["send", "image", contact, str(picture)])
    assert image.exit_code == 0 and image.output.startswith("sent: msgId "), image.output
    notes = tmp_path / "notes.txt"
    notes.write_text("会议纪要")
    document = runner.invoke(args=["send", "file", contact, str(notes), "--name", "纪要.txt", "--json"])
    assert document.exit_code == 0, document.output
    assert json.loads(document.output)["request"]["file_name"] == "纪要.txt"
    assert runner.invoke(args=["send", "image", contact, str(tmp_path / "missing.png")]).exit_code == 2

    revoked = runner.invoke(args=["send", "revoke", sent["msgId"], "--uuid", instance["uuid"]])
    assert revoked.exit_code == 0 and revoked.output.strip() == f"revoked {sent['msgId']}"
    again = runner.invoke(args=["send", "revoke", sent["msgId"]])
    assert again.exit_code == 1 and "revoked already" in again.output
