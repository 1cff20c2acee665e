"""Received media fetched once through the action of its kind, against the simulator over real HTTP, and kept
under the storage folder: every kind's bytes arrive intact, a second read makes no upstream call, concurrent
readers share one download, a failed or empty download leaves no file, the size cap holds, retention prunes."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import make_test_app
from tests.support import add_session, close_app, events_of
from wxwork_demo.errors import AppError
from wxwork_demo.services.media.kinds import media_source
from wxwork_demo.services.media.storage import fetch_media, remove_older_than, stored_media
from wxwork_demo.upstream import MediaTooLarge, UpstreamBadData, UpstreamRefused

MAX = 5_000_000


@pytest.fixture
def setup(database_url, simulator, tmp_path):
    """An app on the simulator with one logged-in instance (its uuid and account) and a storage folder."""
    base = simulator.url
    uuid = requests.post(f"{base}/wxwork/init", json={"vid": ""}, timeout=5).json()["data"]["uuid"]
    key = requests.post(f"{base}/wxwork/getQrCode", json={"uuid": uuid}, timeout=5).json()["data"]["Key"]
    scanned = requests.post(f"{base}/_sim/scan", json={"uuid": uuid}, timeout=5).json()
    requests.post(f"{base}/wxwork/CheckCode", json={"uuid": uuid, "qrcodeKey": key, "code": scanned["code"]}, timeout=5)
    app = make_test_app(database_url, BASE_URL=base)
    add_session(app, uuid, vid=str(scanned["user_id"]), is_login=True)
    yield app, simulator, uuid, str(scanned["user_id"]), tmp_path / "media"
    close_app(app)


def push(simulator, uuid: str, msgtype: int, **extra: Any) -> dict[str, Any]:
    response = requests.post(f"{simulator.url}/_sim/media", json={"uuid": uuid, "msgtype": msgtype, **extra}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["payload"]


def upstream_calls(simulator, action: str) -> int:
    return requests.get(f"{simulator.url}/_sim/calls", timeout=5).json()["by_action"].get(action, 0)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


EXPECTED = {
    14: ("DownloadFile", "image/png"),
    15: ("DownloadFile", "text/plain"),
    16: ("DownloadFile", "audio/silk"),
    20: ("bigFileDownUrl", "application/zip"),
    23: ("DownloadFile", "video/mp4"),
    101: ("DownloadWeChatFile", "image/png"),
    102: ("DownloadWeChatFile", "text/plain"),
    103: ("DownloadWeChatFile", "video/mp4"),
    104: (None, "image/gif"),
}


def test_every_kind_is_fetched_once_through_its_action(setup):
    app, simulator, uuid, account, root = setup
    for msgtype, (action, content_type) in EXPECTED.items():
        payload = push(simulator, uuid, msgtype)
        before = upstream_calls(simulator, action) if action else 0
        with app.app_context():
            stored = fetch_media(uuid, account, f"m{msgtype}", payload, root, MAX)
            again = fetch_media(uuid, account, f"m{msgtype}", payload, root, MAX)
        data = stored.path.read_bytes()
        assert stored.path.parent == root / account and stored.size == len(data) > 0, msgtype
        assert stored.content_type.startswith(content_type), (msgtype, stored.content_type)
        if msgtype != 104:
            size = payload.get("file_size", payload.get("voice_size"))
            assert len(data) == size and hashlib.md5(data, usedforsecurity=False).hexdigest() == payload["md5"].lower()
        if action:
            assert upstream_calls(simulator, action) == before + 1, msgtype  # the second read is from disk
        assert again == stored
    stages = {e.event_type for e in events_of(app, stage="download_media")}
    assert stages == {"DownloadFile", "DownloadWeChatFile", "bigFileDownUrl"}


def test_a_failed_download_is_an_error_and_leaves_no_file(setup):
    app, simulator, uuid, account, root = setup
    payload = push(simulator, uuid, 15)
    with app.app_context(), pytest.raises(UpstreamRefused):
        fetch_media(uuid, account, "m1", {**payload, "aes_key": "0" * 32}, root, MAX)
    assert leftovers(root) == [] and stored_media(root, account, "m1") is None
    [failure] = events_of(app, stage="download_media_error")
    assert failure.event_type == "DownloadFile:refused"
    with app.app_context():  # nothing cached the failure: the right keys work next time
        assert fetch_media(uuid, account, "m1", payload, root, MAX).size == payload["file_size"]


def test_the_size_cap_holds_before_and_during_the_download(setup):
    """Over the cap is a 413 (the file is too large to keep, not an upstream failure), recorded as an event,
    and leaves no file, partial or empty."""
    app, simulator, uuid, account, root = setup
    payload = push(simulator, uuid, 14)
    with app.app_context(), pytest.raises(MediaTooLarge) as announced:
        fetch_media(uuid, account, "big", payload, root, payload["file_size"] - 1)
    assert upstream_calls(simulator, "DownloadFile") == 0  # refused on the announced size, nothing asked
    assert announced.value.status == 413
    assert f"{payload['file_size']} bytes" in announced.value.message and "MEDIA_MAX_BYTES" in announced.value.message
    gif = push(simulator, uuid, 104)  # announces no size: the cap stops the download itself
    with app.app_context(), pytest.raises(MediaTooLarge) as counted:
        fetch_media(uuid, account, "gif", gif, root, 10)
    assert counted.value.status == 413 and "MEDIA_MAX_BYTES (10 bytes)" in counted.value.message
    assert leftovers(root) == [] and stored_media(root, account, "gif") is None
    failures = events_of(app, stage="download_media_error")
    assert [e.event_type.rsplit(":", 1)[1] for e in failures] == ["too_large", "too_large"]


class EmptyFiles:
    """A real server whose every file is empty: a 200 with no bytes."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/e.gif"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


def test_an_empty_download_is_an_error_never_an_empty_file(setup):
    app, _simulator, uuid, account, root = setup
    empty = EmptyFiles()
    try:
        with app.app_context(), pytest.raises(UpstreamBadData):
            fetch_media(uuid, account, "e", {"msgtype": 104, "url": empty.url}, root, MAX)
    finally:
        empty.server.shutdown()
        empty.server.server_close()
    assert leftovers(root) == [] and stored_media(root, account, "e") is None


def test_a_message_without_media_is_a_404(setup):
    app, _simulator, uuid, account, root = setup
    with app.app_context():
        for payload in ({"msgtype": 2, "content": "hi"}, {"msgtype": 14}, {"msgtype": 101, "file_id": "x"}):
            with pytest.raises(AppError) as caught:
                fetch_media(uuid, account, "t", payload, root, MAX)
            assert caught.value.status == 404


def test_concurrent_readers_share_one_download(setup):
    app, simulator, uuid, account, root = setup
    payload = push(simulator, uuid, 23)
    results: list[Any] = []

    def read() -> None:
        with app.app_context():
            results.append(fetch_media(uuid, account, "v", payload, root, MAX))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 6 and len({r.path for r in results}) == 1
    assert upstream_calls(simulator, "DownloadFile") == 1


def test_retention_removes_old_files(setup):
    app, simulator, uuid, account, root = setup
    with app.app_context():
        old = fetch_media(uuid, account, "old.1", push(simulator, uuid, 15), root, MAX)
        new = fetch_media(uuid, account, "new", push(simulator, uuid, 15), root, MAX)
    past = time.time() - 40 * 86400
    for path in (old.path, old.path.with_name("old.1.json")):
        os.utime(path, (past, past))
    assert remove_older_than(root, 30 * 86400) == 1
    assert stored_media(root, account, "old.1") is None and not old.path.exists()
    assert stored_media(root, account, "new") == new


def test_vendor_sample_payloads_pick_their_action():
    """The shapes of 21-callback-message: voice by voice_id, the WeChat file's `aeskey`, an image's is_hd."""
    voice = media_source({"msgtype": 16, "voice_id": "3081", "voice_size": 6544, "aes_key": "62"})
    assert (voice.method, voice.args) == ("download_file", ("3081", "62", 5, "voice.silk", 6544))
    wechat = {"msgtype": 102, "file_id": "https://imunion", "openim_cdn_authkey": "v1_9", "aeskey": "b2"}
    wechat_file = media_source({**wechat, "file_name": "dump.rdb", "file_size": 113564})
    assert wechat_file.method == "download_wechat_file"
    assert wechat_file.args == ("https://imunion", "v1_9", "b2", "dump.rdb", 113564)
    hd = media_source({"msgtype": 14, "file_id": "306b", "aes_key": "53", "file_size": 41505, "is_hd": 2})
    assert hd.args[2] == 2 and hd.file_name == "image.jpg"
    big = media_source({"msgtype": 20, "file_id": "*1*u3", "file_size": 72127884, "file_name": "p.zip"})
    assert (big.method, big.args) == ("big_file_download", ("*1*u3", "p.zip", 72127884))
