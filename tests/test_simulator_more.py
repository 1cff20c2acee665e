"""The simulator's actions of upstream-api-more.md §1-§4 over real HTTP: uploads whose keys the sends require,
@mentions of room members, revoke within its limit, rooms above 2^53 paged like the vendor pages, media
callbacks whose files download as real bytes through the action of their kind, friend requests that accept
changes. Every test starts its own SimulatorServer (and callback receiver) on free ports.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from PIL import Image

from tests.test_simulator import CallbackReceiver, Upstream, first_login
from wxwork_demo.simulator import SimulatorServer
from wxwork_demo.upstream import Upload, UpstreamClient, UpstreamRefused, at_segments

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PEER = 7881302555913738
DEFAULT_ROOM = 10817857838351957


# ----- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def make_sim() -> Iterator[Callable[..., tuple[SimulatorServer, Upstream]]]:
    servers: list[SimulatorServer] = []

    def make(**settings: Any) -> tuple[SimulatorServer, Upstream]:
        server = SimulatorServer(port=0, settings={"callback_retries": 0, **settings}).start()
        servers.append(server)
        return server, Upstream(server.url)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def up(make_sim: Callable[..., tuple[SimulatorServer, Upstream]]) -> Upstream:
    return make_sim()[1]


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


class Files:
    """A tiny real web server publishing bytes at paths, as the URLs the *Link uploads fetch."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = files.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def publish(self, path: str, body: bytes, status: int = 200) -> str:
        self.files[path] = (status, body)
        return f"{self.base}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def files() -> Iterator[Files]:
    server = Files()
    yield server
    server.close()


def real_png(width: int = 640, height: int = 480) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def refused(result: dict[str, Any]) -> bool:
    return result["errcode"] != 0 and result["data"] is None


# ----- images and files: the upload's keys are what the send needs ----------------------------------------


def test_image_by_url_uploads_real_fields_that_the_send_requires(up: Upstream, files: Files) -> None:
    uuid, user_id = first_login(up)
    image = real_png()
    uploaded = up.call("CdnUploadImgLink", uuid=uuid, url=files.publish("/img/a.png", image))
    assert uploaded["errcode"] == 0 and uploaded["errmsg"] == "成功"
    data = uploaded["data"]
    assert set(data) == {
        "cdn_key", "fileid", "aes_key", "md5", "width", "height", "size", "mid_image_size", "thumb_image_width",
        "thumb_image_height", "thumb_file_size", "thumb_file_md5", "retcode",
    }  # fmt: skip
    assert (data["width"], data["height"], data["size"], data["md5"]) == (640, 480, len(image), md5(image))
    assert data["cdn_key"] == data["fileid"] and data["md5"] in data["fileid"]
    assert (data["thumb_image_width"], data["thumb_image_height"]) == (384, 288)  # a real thumbnail
    assert data["thumb_file_size"] > 0 and len(data["thumb_file_md5"]) == 32 and data["retcode"] == "0"

    send = {
        "uuid": uuid, "send_userid": str(PEER), "kf_id": 0, "isRoom": False, "cdnkey": data["cdn_key"],
        "aeskey": data["aes_key"], "md5": data["md5"], "fileSize": data["size"], "width": data["width"],
        "height": data["height"], "thumb_image_height": data["thumb_image_height"],
        "thumb_image_width": data["thumb_image_width"], "thumb_file_size": data["thumb_file_size"],
        "thumb_file_md5": data["thumb_file_md5"],
    }  # fmt: skip
    echo = up.ok("SendCDNImgMsg", **send)
    assert echo["msgtype"] == 14 and echo["receiver"] == PEER and echo["sender"] == user_id
    assert (echo["cdn_key"], echo["aes_key"], echo["md5"], echo["size"]) == (
        data["cdn_key"], data["aes_key"], data["md5"], len(image),
    )  # fmt: skip
    # Every key must be the upload's own: a wrong one, an unknown key, a missing one.
    for field, wrong in (("aeskey", "0" * 32), ("md5", md5(b"x")), ("fileSize", 1), ("thumb_file_size", 2)):
        result = up.call("SendCDNImgMsg", **{**send, field: wrong})
        assert refused(result) and field in result["errmsg"], (field, result)
    assert refused(up.call("SendCDNImgMsg", **{**send, "cdnkey": "3069" + "0" * 60}))
    assert refused(up.call("SendCDNImgMsg", **{k: v for k, v in send.items() if k != "aeskey"}))
    sent = up.control("GET", "sent").json()["messages"]
    assert [(m["msgtype"], m["send_userid"], m["cdnkey"]) for m in sent] == [(14, PEER, data["cdn_key"])]


def test_image_upload_refusals(make_sim: Callable[..., Any], files: Files) -> None:
    _, up = make_sim(upload_max_bytes=50_000)
    uuid, _ = first_login(up)
    not_image = files.publish("/a.png", b"<html>not an image</html>")
    assert refused(up.call("CdnUploadImgLink", uuid=uuid, url=not_image))
    assert refused(up.call("CdnUploadImgLink", uuid=uuid, url=files.publish("/gone.png", b"", status=404)))
    assert refused(up.call("CdnUploadImgLink", uuid=uuid, url="ftp://example.test/a.png"))
    assert refused(up.call("CdnUploadImgLink", uuid=uuid, url="http://127.0.0.1:9/unreachable.png"))
    big = files.publish("/big.bin", b"\0" * 60_000)
    assert refused(up.call("UploadCdnLinkFile", uuid=uuid, url=big, filename="big.bin"))
    assert refused(up.call("CdnUploadImgLink", uuid=uuid))
    fresh = up.ok("init")["uuid"]
    assert up.call("CdnUploadImgLink", uuid=fresh, url=files.publish("/b.png", real_png()))["errmsg"] == "实例未登录"
    assert up.call("CdnUploadImgLink", uuid=fresh)["errmsg"] == "实例未登录"  # the instance first, then the body


def test_local_image_and_file_uploads_are_multipart(up: Upstream) -> None:
    uuid, _ = first_login(up)
    image = real_png(100, 80)
    answer = requests.post(
        f"{up.base}/wxwork/CdnUploadImg", data={"uuid": uuid}, files={"file": ("p.png", image, "image/png")}, timeout=5
    ).json()
    assert answer["errcode"] == 0 and (answer["data"]["width"], answer["data"]["height"]) == (100, 80)
    text = "纪要\n".encode() * 100
    file_answer = requests.post(
        f"{up.base}/wxwork/CdnUploadFile", data={"uuid": uuid}, files={"file": ("纪要.txt", text)}, timeout=5
    ).json()["data"]
    # 07-cdn's sample: no cdn_key here, the fileid is the key.
    assert set(file_answer) == {"size", "aes_key", "fileid", "md5"} and file_answer["size"] == len(text)
    echo = up.ok(
        "SendCDNFileMsg", uuid=uuid, send_userid=PEER, cdnkey=file_answer["fileid"], aeskey=file_answer["aes_key"],
        md5=file_answer["md5"], file_name="纪要.txt", fileSize=len(text), isRoom=False,
    )  # fmt: skip
    assert echo["msgtype"] == 15 and echo["file_name"] == "纪要.txt" and echo["size"] == len(text)
    no_file = requests.post(  # multipart, but its file under another name
        f"{up.base}/wxwork/CdnUploadFile", data={"uuid": uuid}, files={"upload": ("a.txt", b"x")}, timeout=5
    ).json()
    assert refused(no_file) and "file" in no_file["errmsg"]
    # An image's key is no file's key, and a file needs its name.
    image_key = answer["data"]["cdn_key"]
    as_file = {"uuid": uuid, "send_userid": PEER, "cdnkey": image_key, "aeskey": answer["data"]["aes_key"]}
    as_file |= {"md5": answer["data"]["md5"], "fileSize": len(image), "file_name": "p.png", "isRoom": False}
    assert refused(up.call("SendCDNFileMsg", **as_file))
    nameless = {**as_file, "cdnkey": file_answer["fileid"], "aeskey": file_answer["aes_key"], "file_name": ""}
    assert refused(up.call("SendCDNFileMsg", **{**nameless, "md5": file_answer["md5"], "fileSize": len(text)}))


def test_file_by_url_answers_both_keys(up: Upstream, files: Files) -> None:
    uuid, _ = first_login(up)
    body = b"%PDF-1.4\n" + b"x" * 2000
    data = up.ok("UploadCdnLinkFile", uuid=uuid, url=files.publish("/docs/%E6%8A%A5%E5%91%8A.pdf", body))
    assert set(data) == {"size", "cdn_key", "aes_key", "fileid", "md5"}
    assert data["cdn_key"] == data["fileid"] and data["size"] == len(body) and data["md5"] == md5(body)


def test_unchecked_cdn_sends_are_opt_in(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim(cdn_send_unchecked=True)
    uuid, _ = first_login(up)
    junk = {"uuid": uuid, "send_userid": PEER, "isRoom": False, "cdnkey": "k", "aeskey": "a", "md5": "m"}
    assert up.ok("SendCDNImgMsg", **junk, fileSize=3)["msgtype"] == 14


# ----- rooms -------------------------------------------------------------------------------------------


def all_rooms(up: Upstream, uuid: str, limit: int = 10) -> tuple[list[dict[str, Any]], list[int]]:
    rooms: list[dict[str, Any]] = []
    starts: list[int] = []
    while True:
        starts.append(len(rooms))
        response = up.raw("GetSessionRoomList", {"uuid": uuid, "limit": limit, "star_index": len(rooms)})
        page = response.json()["data"]["room_list"]
        assert response.json()["data"]["seq"] == 0
        if not page:
            return rooms, starts
        rooms += page


def test_rooms_are_paged_with_star_index_and_have_ids_above_2_53(up: Upstream) -> None:
    uuid, user_id = first_login(up)
    raw = up.raw("GetSessionRoomList", {"uuid": uuid, "limit": 10, "star_index": 0}).text
    assert f'"room_id": {DEFAULT_ROOM}' in raw or f'"room_id":{DEFAULT_ROOM}' in raw  # a JSON number, exact
    rooms, starts = all_rooms(up, uuid)
    assert len(rooms) == 23 and starts == [0, 10, 20, 23]
    assert all(isinstance(r["room_id"], int) and r["room_id"] > 2**53 for r in rooms)
    assert len({r["room_id"] for r in rooms}) == 23
    assert set(rooms[0]) == {"room_id", "create_user_id", "total", "flag", "create_time", "nickname", "managers"}
    assert rooms[0]["room_id"] == DEFAULT_ROOM and any(r["nickname"] == "" for r in rooms)
    assert up.ok("GetSessionRoomList", uuid=uuid, limit=10, star_index=500)["room_list"] == []

    detail = up.ok("GetRoomUserList", uuid=uuid, roomid=str(DEFAULT_ROOM))
    members = detail["member_list"]
    assert detail["room_id"] == DEFAULT_ROOM and detail["total"] == len(members) == rooms[0]["total"] >= 2
    assert user_id in [m["uin"] for m in members]
    assert {"uin", "nickname", "realname", "room_nickname", "avatar", "jointime", "join_scene"} <= set(members[0])
    assert refused(up.call("GetRoomUserList", uuid=uuid, roomid=10927640775842980))
    # Another account is in other rooms.
    other, _ = first_login(up, user_id=1688850000000042)
    assert {r["room_id"] for r in all_rooms(up, other)[0]} != {r["room_id"] for r in rooms}


def test_room_callbacks_change_the_rooms(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    newcomer = 7881300000000777

    def members() -> list[int]:
        return [m["uin"] for m in up.ok("GetRoomUserList", uuid=uuid, roomid=DEFAULT_ROOM)["member_list"]]

    up.control("POST", "event", {"uuid": uuid, "type": 115003, "room_id": DEFAULT_ROOM, "contact": newcomer})
    assert newcomer in members()
    up.control("POST", "event", {"uuid": uuid, "type": 115002, "room_id": DEFAULT_ROOM, "contact": newcomer})
    assert newcomer not in members()
    up.control("POST", "event", {"uuid": uuid, "type": 115001, "room_id": 10927640775842980, "contact": PEER})
    assert all_rooms(up, uuid)[0][0]["room_id"] == 10927640775842980
    up.control("POST", "event", {"uuid": uuid, "type": 115005, "room_id": DEFAULT_ROOM})
    assert up.ok("GetRoomUserList", uuid=uuid, roomid=DEFAULT_ROOM)["nickname"] == "新的群名"
    up.control("POST", "event", {"uuid": uuid, "type": 115004, "room_id": DEFAULT_ROOM})
    assert DEFAULT_ROOM not in [r["room_id"] for r in all_rooms(up, uuid)[0]]
    assert refused(up.call("GetRoomUserList", uuid=uuid, roomid=DEFAULT_ROOM))


# ----- @mentions ----------------------------------------------------------------------------------------


def test_at_mentions_need_a_room_the_account_is_in_and_its_members(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim()
    uuid, user_id = first_login(up)
    members = [m["uin"] for m in up.ok("GetRoomUserList", uuid=uuid, roomid=DEFAULT_ROOM)["member_list"]]
    someone = next(m for m in members if m != user_id)
    echo = up.ok(
        "SendTextAtMsg", uuid=uuid, send_userid=str(DEFAULT_ROOM), atids=[someone], content="看一下", isRoom=True
    )
    assert echo["receiver"] == 0 and echo["room_conversation_id"] == DEFAULT_ROOM and echo["is_room"] == 1
    assert echo["at_list"] == [{"user_id": someone, "nikeName": ""}] and echo["content"] == "看一下"
    stranger = 7881300000000999
    outsider = up.call("SendTextAtMsg", uuid=uuid, send_userid=DEFAULT_ROOM, atids=[stranger], content="x", isRoom=True)
    assert refused(outsider) and str(stranger) in outsider["errmsg"]
    assert refused(up.call("SendTextAtMsg", uuid=uuid, send_userid=PEER, atids=[someone], content="x", isRoom=False))
    unknown_room = up.call(
        "SendTextAtMsg", uuid=uuid, send_userid=10927640775842980, atids=[], content="x", isRoom=True
    )
    assert refused(unknown_room)

    segments = [{"msgtype": 0, "content": "开会"}, {"msgtype": 3, "content": "[微笑]"}]
    segments += [{"msgtype": 5, "vid": someone}, {"msgtype": 5, "vid": 0}]
    two = up.ok("SendTextAtMsgTwo", uuid=uuid, send_userid=DEFAULT_ROOM, contentva=segments, isRoom=True)
    assert two["at_list"] == [{"user_id": someone, "nikeName": ""}] and two["content"] == "开会[微笑]"
    sent = up.control("GET", "sent").json()["messages"]
    assert [(m["at"], m["atAll"]) for m in sent] == [([someone], False), ([someone], True)]
    bad = [{"msgtype": 9, "content": "?"}]
    assert refused(up.call("SendTextAtMsgTwo", uuid=uuid, send_userid=DEFAULT_ROOM, contentva=bad, isRoom=True))

    _, generous = make_sim(at_anyone=True)
    uuid2, _ = first_login(generous)
    assert generous.ok(
        "SendTextAtMsg", uuid=uuid2, send_userid=DEFAULT_ROOM, atids=[stranger], content="x", isRoom=True
    )


# ----- revoke -------------------------------------------------------------------------------------------


def test_revoke_only_what_this_account_sent_in_its_conversation_once_in_time(make_sim: Callable[..., Any]) -> None:
    _, up = make_sim(revoke_limit_s=0.6)
    uuid, _ = first_login(up)
    text = up.ok("SendTextMsg", uuid=uuid, send_userid=PEER, isRoom=False, content="发错了")
    in_room = up.ok("SendTextAtMsg", uuid=uuid, send_userid=DEFAULT_ROOM, atids=[], content="群里", isRoom=True)
    # The room message needs its room, the one-to-one message roomid 0.
    assert refused(up.call("RevokeMsg", uuid=uuid, msgid=in_room["msg_id"], roomid=0))
    assert refused(up.call("RevokeMsg", uuid=uuid, msgid=text["msg_id"], roomid=DEFAULT_ROOM))
    assert up.call("RevokeMsg", uuid=uuid, msgid=text["msg_id"], roomid=0) == {
        "data": None,
        "errcode": 0,
        "errmsg": "ok",
    }
    assert up.ok("RevokeMsg", uuid=uuid, msgid=str(in_room["msg_id"]), roomid=str(DEFAULT_ROOM)) is None
    assert refused(up.call("RevokeMsg", uuid=uuid, msgid=text["msg_id"], roomid=0))  # only once
    assert refused(up.call("RevokeMsg", uuid=uuid, msgid=999_999_999, roomid=0))  # never sent
    # A message another account sent is not this one's to revoke.
    other, _ = first_login(up, user_id=1688850000000042)
    theirs = up.ok("SendTextMsg", uuid=other, send_userid=PEER, isRoom=False, content="别人的")
    assert refused(up.call("RevokeMsg", uuid=uuid, msgid=theirs["msg_id"], roomid=0))
    late = up.ok("SendTextMsg", uuid=uuid, send_userid=PEER, isRoom=False, content="晚了")
    time.sleep(0.8)
    expired = up.call("RevokeMsg", uuid=uuid, msgid=late["msg_id"], roomid=0)
    assert refused(expired) and expired["errmsg"] == "已超过可撤回时间"
    revoked = [m for m in up.control("GET", "sent").json()["messages"] if m.get("revoked_at")]
    assert [m["msg_id"] for m in revoked] == [text["msg_id"], in_room["msg_id"]]


# ----- received media -----------------------------------------------------------------------------------


def push_media(up: Upstream, uuid: str, msgtype: int, **extra: Any) -> dict[str, Any]:
    response = up.control("POST", "media", {"uuid": uuid, "msgtype": msgtype, **extra})
    assert response.status_code == 200, response.text
    return response.json()["payload"]


def fetch(link: str) -> requests.Response:
    response = requests.get(link, timeout=5)
    assert response.status_code == 200, link
    return response


def test_received_images_download_as_real_pngs(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, user_id = first_login(up, receiver)
    sent = push_media(up, uuid, 14)
    delivered = receiver.wait_for(5)[-1]
    payload = json.loads(delivered["json"])
    assert (
        delivered["type"] == 102000 and payload == sent and payload["msgtype"] == 14 and payload["receiver"] == user_id
    )
    assert "content" not in payload and payload["is_hd"] == 1
    download = {
        "uuid": uuid, "fileid": payload["file_id"], "aes_key": payload["aes_key"], "filetype": 1,
        "file_name": payload["file_name"], "size": payload["file_size"],
    }  # fmt: skip
    answer = up.call("DownloadFile", **download)
    assert (
        answer["errcode"] == 0 and answer["errmsg"] == "成功" and answer["data"].startswith(up.base + "/download/Img/")
    )
    image = fetch(answer["data"])
    assert image.content.startswith(PNG_MAGIC) and image.headers["Content-Type"] == "image/png"
    assert len(image.content) == payload["file_size"] and md5(image.content) == payload["md5"]
    with Image.open(io.BytesIO(image.content)) as decoded:
        assert decoded.size == (payload["width"], payload["height"])
    # The thumbnail: filetype 3 with its own size.
    thumb = up.ok("DownloadFile", **{**download, "filetype": 3, "size": payload["thumb_img_size"]})
    assert md5(fetch(thumb).content) == payload["openim_cdn_ld_md5"]
    # Wrong size, wrong filetype, wrong key, no name, unknown file: refused, no link.
    for field, wrong in (("size", 1), ("filetype", 4), ("aes_key", "0" * 32), ("file_name", ""), ("fileid", "30")):
        assert refused(up.call("DownloadFile", **{**download, field: wrong})), field


@pytest.mark.parametrize(
    ("msgtype", "filetype", "id_field", "size_field", "head"),
    [
        (15, 5, "file_id", "file_size", "会议纪要".encode()),
        (16, 5, "voice_id", "voice_size", b"\x02#!SILK_V3"),
        (23, 4, "file_id", "file_size", b"\x00\x00\x00\x18ftypmp42"),
    ],
)
def test_received_files_voice_and_video_download_through_download_file(
    up: Upstream, msgtype: int, filetype: int, id_field: str, size_field: str, head: bytes
) -> None:
    uuid, _ = first_login(up)
    payload = push_media(up, uuid, msgtype)
    name = payload.get("file_name") or ("voice.silk" if msgtype == 16 else "video.mp4")
    body = {"uuid": uuid, "fileid": payload[id_field], "aes_key": payload["aes_key"], "filetype": filetype}
    link = up.ok("DownloadFile", **body, file_name=name, size=payload[size_field])
    content = fetch(link).content
    assert content.startswith(head) and md5(content) == payload["md5"] and len(content) == payload[size_field]
    assert refused(up.call("DownloadFile", **{**body, "filetype": 1}, file_name=name, size=payload[size_field]))


def test_given_bytes_in_a_room(up: Upstream) -> None:
    uuid, _ = first_login(up)
    data = b"exactly these bytes"
    payload = push_media(up, uuid, 15, file_name="a.txt", content_base64=base64.b64encode(data).decode(), is_room=True)
    assert payload["is_room"] == 1 and payload["receiver"] == 0 and payload["room_conversation_id"] == str(DEFAULT_ROOM)
    link = up.ok(
        "DownloadFile", uuid=uuid, fileid=payload["file_id"], aes_key=payload["aes_key"], filetype=5,
        file_name="a.txt", size=len(data),
    )  # fmt: skip
    assert fetch(link).content == data
    assert up.control("POST", "media", {"uuid": uuid, "msgtype": 2}).status_code == 400
    assert up.control("POST", "media", {"uuid": uuid, "msgtype": 15, "content_base64": "%%"}).status_code == 400


@pytest.mark.parametrize("msgtype", [101, 102, 103])
def test_wechat_users_media_answers_errorcode_and_no_errcode(up: Upstream, msgtype: int) -> None:
    uuid, _ = first_login(up)
    payload = push_media(up, uuid, msgtype)
    assert payload["file_id"].startswith("https://imunion.weixin.qq.com/") and payload["openim_cdn_authkey"]
    aes_key = payload["aeskey"] if msgtype == 102 else payload["aes_key"]  # 102's sample spells it "aeskey"
    body = {
        "uuid": uuid, "url": payload["file_id"], "auth_key": payload["openim_cdn_authkey"], "aes_key": aes_key,
        "file_name": payload.get("file_name") or "media", "size": payload["file_size"],
    }  # fmt: skip
    answer = up.call("DownloadWeChatFile", **body)
    assert set(answer) == {"data", "errmsg", "errorcode"} and answer["errorcode"] == 0
    content = fetch(answer["data"]).content
    assert md5(content) == payload["md5"] and len(content) == payload["file_size"]
    if msgtype == 101:
        assert content.startswith(PNG_MAGIC)
    failed = up.call("DownloadWeChatFile", **{**body, "auth_key": "v1_wrong"})
    assert set(failed) == {"data", "errmsg", "errorcode"} and failed["errorcode"] != 0 and failed["data"] is None
    # A corp file's action does not serve it.
    assert refused(up.call("DownloadFile", uuid=uuid, fileid=payload["file_id"], aes_key=aes_key, filetype=5,
                           file_name="x", size=payload["file_size"]))  # fmt: skip


def test_big_files_and_gifs(up: Upstream) -> None:
    uuid, _ = first_login(up)
    big = push_media(up, uuid, 20)
    assert big["file_id"].startswith("*1*") and big["aes_key"] == ""
    answer = up.ok(
        "bigFileDownUrl", uuid=uuid, fileid=big["file_id"], file_name=big["file_name"], size=big["file_size"]
    )
    assert answer["md5"] == big["md5"] and md5(fetch(answer["url"]).content).upper() == big["md5"]
    assert refused(up.call("DownloadFile", uuid=uuid, fileid=big["file_id"], aes_key="", filetype=5,
                           file_name=big["file_name"], size=big["file_size"]))  # fmt: skip
    gif = push_media(up, uuid, 104)
    image = fetch(gif["url"])
    assert image.content.startswith(b"GIF8") and image.headers["Content-Type"] == "image/gif"


# ----- friend requests ------------------------------------------------------------------------------------


def test_friend_requests_wait_until_accepted(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    listed = up.ok("GetApplyUserList", uuid=uuid, limit=100, seq=0)
    entries = listed["list"]
    assert [e["item_flag"] for e in entries] == [3, 2, 1, 1]  # deleted, accepted, two waiting
    assert listed["seq"] == entries[-1]["seq"] and [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert up.ok("GetApplyUserList", uuid=uuid, limit=100, seq=listed["seq"]) == {"list": [], "seq": listed["seq"]}
    assert len(up.ok("GetApplyUserList", uuid=uuid, limit=2, seq=0)["list"]) == 2

    request = up.control("POST", "event", {"uuid": uuid, "type": 116001}).json()["payload"]
    applicant = request["list"][0]["user_id"]
    assert json.loads(receiver.wait_for(5)[-1]["json"]) == request
    waiting = up.ok("GetApplyUserList", uuid=uuid, limit=100, seq=listed["seq"])["list"]
    assert [(e["user_id"], e["item_flag"]) for e in waiting] == [(applicant, 1)]

    assert up.call("AgreeUser", uuid=uuid, corpid=0, vid=applicant) == {"data": None, "errcode": 0, "errmsg": "ok"}
    added = receiver.wait_for(6)[-1]
    contact = json.loads(added["json"])["list"][0]
    assert added["type"] == 116002 and contact["user_id"] == applicant and contact["status"] == 9
    after = {e["user_id"]: e for e in up.ok("GetApplyUserList", uuid=uuid, limit=100, seq=0)["list"]}
    assert after[applicant]["item_flag"] == 2 and after[applicant]["seq"] > waiting[0]["seq"]
    external = up.ok("GetExternalContacts", uuid=uuid, limit=1000, seq=0)["list"]
    assert external[-1]["user_id"] == applicant and external[-1]["seq"] == contact["seq"]
    # Accepting again, accepting a deleted request or a stranger: refused.
    deleted = entries[0]["user_id"]
    for vid in (applicant, deleted, 7881300000000555):
        assert refused(up.call("AgreeUser", uuid=uuid, corpid=0, vid=vid)), vid


def test_without_verification_requests_are_accepted_at_once(up: Upstream, receiver: CallbackReceiver) -> None:
    uuid, _ = first_login(up, receiver)
    assert up.ok("AutomaticConsent", uuid=uuid, state=0) is None
    assert refused(up.call("AutomaticConsent", uuid=uuid, state=7))
    answer = up.control("POST", "event", {"uuid": uuid, "type": 116001}).json()
    assert answer["type"] == 116002 and answer["payload"]["list"][0]["status"] == 9
    assert receiver.wait_for(5)[-1]["type"] == 116002
    up.ok("AutomaticConsent", uuid=uuid, state=1)
    assert up.control("POST", "event", {"uuid": uuid, "type": 116001}).json()["type"] == 116001


def test_names_for_ids(up: Upstream) -> None:
    uuid, user_id = first_login(up)
    members = up.ok("GetRoomUserList", uuid=uuid, roomid=DEFAULT_ROOM)["member_list"]
    wanted = [user_id, members[-1]["uin"], 7881300000000555]
    profiles = up.ok("GetUserInfoByVids", uuid=uuid, vids=[str(v) for v in wanted])
    assert [p["user_id"] for p in profiles] == wanted[:2]  # the stranger is left out
    assert profiles[0]["nickname"] == "小刘" and profiles[1]["nickname"] == members[-1]["nickname"]
    assert {"unionid", "avatar", "corp_id", "realname"} <= set(profiles[0])


# ----- the app's client against the simulator -------------------------------------------------------------


def test_the_client_drives_every_new_action_against_the_simulator(up: Upstream, files: Files) -> None:
    """The two halves agree over real HTTP: what the client sends is what the simulator requires."""
    uuid, _ = first_login(up)
    client = UpstreamClient(up.base, connect_timeout=2, read_timeout=5)
    rooms = client.all_session_rooms(uuid, page_size=7)
    assert len(rooms) == 23 and rooms[0]["room_id"] == DEFAULT_ROOM
    room_id = str(rooms[0]["room_id"])  # as the web layer keeps it: text
    members = client.room_members(uuid, room_id).data["member_list"]
    client.send_text_at(uuid, room_id, [str(members[-1]["uin"])], "hi")
    client.send_text_segments(uuid, room_id, at_segments("hi", [members[-1]["uin"]], at_all=True))

    uploaded = client.upload_image_link(uuid, files.publish("/p.png", real_png(300, 200))).data
    image_echo = client.send_cdn_image(uuid, room_id, True, uploaded).data
    local = client.upload_image(uuid, Upload("q.png", real_png(50, 50), "image/png")).data
    client.send_cdn_image(uuid, PEER, False, local)
    file_upload = client.upload_file(uuid, Upload("a.txt", b"hello")).data
    client.send_cdn_file(uuid, PEER, False, file_upload, "a.txt")
    linked = client.upload_file_link(uuid, files.publish("/b.txt", b"world"), "b.txt").data
    file_echo = client.send_cdn_file(uuid, room_id, True, linked, "b.txt").data
    client.revoke(uuid, image_echo["msg_id"], room_id)
    client.revoke(uuid, file_echo["msg_id"], room_id)
    with pytest.raises(UpstreamRefused):
        client.revoke(uuid, file_echo["msg_id"], room_id)

    received = push_media(up, uuid, 14)
    reply = client.download_file(
        uuid, received["file_id"], received["aes_key"], 1, received["file_name"], received["file_size"]
    )
    target = io.BytesIO()
    done = client.download_to(client.media_url(reply), target, max_bytes=1_000_000)
    assert done.content_type == "image/png" and md5(target.getvalue()) == received["md5"]
    wechat = push_media(up, uuid, 102)
    with pytest.raises(UpstreamRefused) as caught:  # answered with errorcode only: still a failure
        client.download_wechat_file(uuid, wechat["file_id"], "v1_wrong", wechat["aeskey"], "x", wechat["file_size"])
    assert "errcode" not in caught.value.raw and caught.value.raw["errorcode"] != 0
    good = client.download_wechat_file(
        uuid, wechat["file_id"], wechat["openim_cdn_authkey"], wechat["aeskey"], "x.txt", wechat["file_size"]
    )
    assert md5(requests.get(client.media_url(good), timeout=5).content) == wechat["md5"]
    big = push_media(up, uuid, 20)
    big_link = client.media_url(client.big_file_download(uuid, big["file_id"], big["file_name"], big["file_size"]))
    assert md5(requests.get(big_link, timeout=5).content).upper() == big["md5"]

    waiting = [e for e in client.apply_users(uuid).data["list"] if e["item_flag"] == 1]
    client.agree_user(uuid, str(waiting[0]["user_id"]))
    client.set_friend_verification(uuid, required=False)
    assert client.users_by_ids(uuid, [waiting[0]["user_id"]]).data[0]["user_id"] == waiting[0]["user_id"]
