"""Received media over real HTTP, on SQLite and MariaDB: GET /api/messages/<id>/media downloads a message's file
once through the action of its kind, stores it under MEDIA_DIR and serves it from there with its type; a failed
download is an error and leaves nothing behind; a message without a file is a 404."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.e2e.live import ConsoleApi, SimulatorControl, first_login, wait_until
from tests.e2e.media_host import png_bytes

pytestmark = pytest.mark.e2e


def _stored_message(api: ConsoleApi, msg_id) -> dict:
    def find() -> dict | None:
        messages = api.get("/api/messages", type="102000", limit=50).json()["messages"]
        return next((m for m in messages if m["msgId"] == str(msg_id)), None)

    return wait_until(find, 5, what=f"message {msg_id} in the inbox")


def _push(sim: SimulatorControl, uuid: str, msgtype: int, **extra) -> dict:
    return sim._call("POST", "media", {"uuid": uuid, "msgtype": msgtype, **extra})["payload"]


def _calls(sim: SimulatorControl, action: str) -> int:
    return sim.calls()["by_action"].get(action, 0)


def test_media_of_each_kind_downloaded_once_then_served_from_storage(make_console, sim: SimulatorControl, tmp_path):
    api = ConsoleApi(make_console(MEDIA_DIR=str(tmp_path / "media")).url)
    uuid = first_login(api, sim)["uuid"]
    picture = png_bytes(50, 40, (1, 2, 3))
    image = _stored_message(api, _push(sim, uuid, 14, content_base64=base64.b64encode(picture).decode())["msg_id"])
    sim.reset_calls()

    first = api.get(f"/api/messages/{image['id']}/media")
    assert first.status_code == 200, first.text
    assert first.headers["Content-Type"] == "image/png" and first.content == picture
    assert "sandbox" in first.headers["Content-Security-Policy"]
    again = api.get(f"/api/messages/{image['id']}/media", download="1")
    assert again.content == picture and again.headers["Content-Disposition"].startswith("attachment")
    assert _calls(sim, "DownloadFile") == 1  # the second answer came from storage
    assert list((tmp_path / "media").glob("*/*.bin"))

    # A file from a WeChat user (DownloadWeChatFile, which answers errorcode only), a voice, a GIF by its url.
    for msgtype, action in ((102, "DownloadWeChatFile"), (16, "DownloadFile")):
        payload = _push(sim, uuid, msgtype)
        message = _stored_message(api, payload["msg_id"])
        before = _calls(sim, action)
        got = api.get(f"/api/messages/{message['id']}/media")
        assert got.status_code == 200 and _calls(sim, action) == before + 1, got.text
        assert hashlib.md5(got.content, usedforsecurity=False).hexdigest() == payload["md5"]
        assert len(got.content) == int(payload.get("file_size") or payload.get("voice_size"))
    gif = _stored_message(api, _push(sim, uuid, 104)["msg_id"])
    assert api.get(f"/api/messages/{gif['id']}/media").headers["Content-Type"] == "image/gif"


def test_a_failed_download_is_an_error_and_stores_nothing_and_a_text_has_no_media(
    make_console, sim: SimulatorControl, tmp_path
):
    api = ConsoleApi(make_console(MEDIA_DIR=str(tmp_path / "media")).url)
    uuid = first_login(api, sim)["uuid"]
    message = _stored_message(api, _push(sim, uuid, 15, file_name="合同.pdf")["msg_id"])

    sim.set_fault("http500", actions=["DownloadFile"], count=1)
    failed = api.get(f"/api/messages/{message['id']}/media")
    assert failed.status_code == 502 and failed.json()["ok"] is False, failed.text
    assert not list((tmp_path / "media").glob("*/*.bin")) and not list((tmp_path / "media").glob("*/*.json"))
    assert api.events(stage="download_media_error")
    retried = api.get(f"/api/messages/{message['id']}/media")
    assert retried.status_code == 200 and retried.content and retried.headers["Content-Type"] == "application/pdf"

    text = _stored_message(api, sim.message(uuid, "只是文字")["payload"]["msg_id"])
    no_media = api.get(f"/api/messages/{text['id']}/media")
    assert no_media.status_code == 404 and "no media" in no_media.json()["message"]
    assert api.get("/api/messages/987654321/media").status_code == 404


def test_a_file_over_the_cap_is_refused_and_not_kept(make_console, sim: SimulatorControl, tmp_path):
    api = ConsoleApi(make_console(MEDIA_DIR=str(tmp_path / "media"), MEDIA_MAX_BYTES=2048).url)
    uuid = first_login(api, sim)["uuid"]
    message = _stored_message(
        api, _push(sim, uuid, 15, content_base64=base64.b64encode(b"x" * 5000).decode())["msg_id"]
    )
    sim.reset_calls()
    refused = api.get(f"/api/messages/{message['id']}/media")
    assert refused.status_code == 413 and refused.json()["ok"] is False, refused.text
    assert refused.json()["upstream"]["kind"] == "too_large"
    assert "5000 bytes" in refused.json()["message"] and "MEDIA_MAX_BYTES (2048" in refused.json()["message"]
    assert _calls(sim, "DownloadFile") == 0  # refused on the size the message announces: nothing downloaded
    [failure] = api.events(stage="download_media_error")
    assert failure["eventType"].endswith(":too_large")
    assert [p.name for p in (tmp_path / "media").rglob("*") if p.is_file() and p.suffix != ".lock"] == []
