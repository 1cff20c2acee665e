"""The client's actions of upstream-api-more.md §1-§4 against `responses`: exact bodies, ids that exceed 2^53
kept exact, uploads as multipart, failures typed (errorcode-only answers included), links made reachable."""

import io
import json

import pytest
import requests
import responses

from tests.support import envelope, sent_json
from wxwork_demo.upstream import (
    MediaTooLarge,
    Upload,
    UpstreamBadData,
    UpstreamClient,
    UpstreamHTTPError,
    UpstreamRefused,
    UpstreamTimeout,
    at_segments,
    failure_code,
)

BASE = "http://upstream.test"
ROOM = 10817857838351957  # > 2^53: a float would make it 10817857838351956
PEER = 7881302555913738
IMAGE_UPLOAD = {
    "cdn_key": "306b0201",
    "fileid": "306b0201",
    "aes_key": "B26DB4824341608DB848A2DA563B7147",
    "md5": "7d8a8e79499210c6242c36afd10647c7",
    "width": 1279,
    "height": 1706,
    "size": 3243381,
    "mid_image_size": 164550,
    "thumb_image_width": 384,
    "thumb_image_height": 512,
    "thumb_file_size": 15195,
    "thumb_file_md5": "4331947dc5f67c0d8a2893653a3f0cee",
    "retcode": "0",
}
# CdnUploadFile's sample answers no cdn_key: the send step takes `fileid`.
FILE_UPLOAD = {"size": 24400, "aes_key": "69219A3C", "fileid": "30680201", "md5": "981d4320"}


@pytest.fixture
def api():
    return UpstreamClient(BASE, connect_timeout=1, read_timeout=1)


@pytest.mark.parametrize(
    ("call", "action", "body"),
    [
        (
            lambda c: c.send_text_at("U", str(ROOM), [str(PEER)], "hi"),
            "SendTextAtMsg",
            {"uuid": "U", "send_userid": ROOM, "atids": [PEER], "content": "hi", "isRoom": True},
        ),
        (
            lambda c: c.send_text_segments("U", ROOM, at_segments("hi", [PEER], at_all=True)),
            "SendTextAtMsgTwo",
            {
                "uuid": "U",
                "send_userid": ROOM,
                "contentva": [{"msgtype": 0, "content": "hi"}, {"msgtype": 5, "vid": PEER}, {"msgtype": 5, "vid": 0}],
                "isRoom": True,
            },
        ),
        (
            lambda c: c.upload_image_link("U", "https://example.test/a.png"),
            "CdnUploadImgLink",
            {"uuid": "U", "url": "https://example.test/a.png"},
        ),
        (
            lambda c: c.send_cdn_image("U", str(ROOM), True, IMAGE_UPLOAD),
            "SendCDNImgMsg",
            {
                "uuid": "U",
                "send_userid": ROOM,
                "kf_id": 0,
                "isRoom": True,
                "cdnkey": "306b0201",
                "aeskey": "B26DB4824341608DB848A2DA563B7147",
                "md5": "7d8a8e79499210c6242c36afd10647c7",
                "fileSize": 3243381,
                "width": 1279,
                "height": 1706,
                "thumb_image_height": 512,
                "thumb_image_width": 384,
                "thumb_file_size": 15195,
                "thumb_file_md5": "4331947dc5f67c0d8a2893653a3f0cee",
            },
        ),
        (
            lambda c: c.upload_file_link("U", "https://example.test/a.pdf", "a.pdf"),
            "UploadCdnLinkFile",
            {"uuid": "U", "url": "https://example.test/a.pdf", "filename": "a.pdf"},
        ),
        (
            lambda c: c.send_cdn_file("U", PEER, False, FILE_UPLOAD, "报告.pdf"),
            "SendCDNFileMsg",
            {
                "uuid": "U",
                "send_userid": PEER,
                "cdnkey": "30680201",
                "aeskey": "69219A3C",
                "md5": "981d4320",
                "file_name": "报告.pdf",
                "fileSize": 24400,
                "isRoom": False,
            },
        ),
        (lambda c: c.revoke("U", 1066230), "RevokeMsg", {"uuid": "U", "msgid": 1066230, "roomid": 0}),
        (lambda c: c.revoke("U", "1066230", str(ROOM)), "RevokeMsg", {"uuid": "U", "msgid": 1066230, "roomid": ROOM}),
        (
            lambda c: c.download_file("U", "3069", "376A", 4, "测试.mp4", 1592432),
            "DownloadFile",
            {"uuid": "U", "fileid": "3069", "aes_key": "376A", "filetype": 4, "file_name": "测试.mp4", "size": 1592432},
        ),
        (
            lambda c: c.download_wechat_file("U", "https://imunion.test/x", "v1_a", "afb5", "test.jpg", 79992),
            "DownloadWeChatFile",
            {
                "uuid": "U",
                "url": "https://imunion.test/x",
                "auth_key": "v1_a",
                "aes_key": "afb5",
                "file_name": "test.jpg",
                "size": 79992,
            },
        ),
        (
            lambda c: c.big_file_download("U", "*1*abc", "666.mp4", 371275),
            "bigFileDownUrl",
            {"uuid": "U", "fileid": "*1*abc", "file_name": "666.mp4", "size": 371275},
        ),
        (
            lambda c: c.session_rooms("U", 10, 20),
            "GetSessionRoomList",
            {"uuid": "U", "limit": 10, "star_index": 20},
        ),
        (lambda c: c.room_members("U", str(ROOM)), "GetRoomUserList", {"uuid": "U", "roomid": ROOM}),
        (lambda c: c.apply_users("U"), "GetApplyUserList", {"uuid": "U", "limit": 100, "seq": 0}),
        (lambda c: c.agree_user("U", str(PEER)), "AgreeUser", {"uuid": "U", "corpid": 0, "vid": PEER}),
        (lambda c: c.set_friend_verification("U", False), "AutomaticConsent", {"uuid": "U", "state": 0}),
        (lambda c: c.set_friend_verification("U", True), "AutomaticConsent", {"uuid": "U", "state": 1}),
        (
            lambda c: c.users_by_ids("U", [PEER, "1688853794914376"]),
            "GetUserInfoByVids",
            {
                "uuid": "U",
                "vids": [PEER, 1688853794914376],
            },
        ),
    ],
)
@responses.activate
def test_each_action_posts_its_documented_body(api, call, action, body):
    responses.post(f"{BASE}/wxwork/{action}", json=envelope({"x": 1}))
    reply = call(api)
    assert responses.calls[0].request.url == f"{BASE}/wxwork/{action}"
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    assert sent_json(responses.calls[0]) == body
    assert reply.data == {"x": 1} and reply.action == action and reply.request == body


@pytest.mark.parametrize(
    ("call", "action"),
    [
        (lambda c, f: c.upload_image("U", f), "CdnUploadImg"),
        (lambda c, f: c.upload_file("U", f), "CdnUploadFile"),
    ],
)
@responses.activate
def test_local_uploads_are_multipart_and_the_log_keeps_no_bytes(api, call, action):
    responses.post(f"{BASE}/wxwork/{action}", json=envelope(FILE_UPLOAD, errmsg="成功"))
    upload = Upload("图.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
    reply = call(api, upload)
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = sent.body if isinstance(sent.body, bytes) else sent.body.read()
    assert b'name="uuid"\r\n\r\nU\r\n' in body and upload.content in body
    assert b'name="file"; filename=' in body and b"Content-Type: image/png" in body
    assert reply.request == {"uuid": "U", "file": {"filename": "图.png", "size": 108, "contentType": "image/png"}}
    assert json.dumps(reply.request)  # fit for the events log
    assert reply.data == FILE_UPLOAD


@responses.activate
def test_a_failure_reported_only_in_errorcode_is_a_failure(api):
    """DownloadWeChatFile (and InitCdn) answer `errorcode` and no `errcode` at all."""
    responses.post(f"{BASE}/wxwork/DownloadWeChatFile", json={"data": None, "errmsg": "下载失败", "errorcode": -1})
    with pytest.raises(UpstreamRefused) as caught:
        api.download_wechat_file("U", "https://imunion.test/x", "v1_a", "afb5", "a.jpg", 10)
    assert caught.value.errcode == -1 and caught.value.errmsg == "下载失败" and caught.value.status == 502
    assert caught.value.request["auth_key"] == "v1_a"
    responses.replace(
        responses.POST,
        f"{BASE}/wxwork/DownloadWeChatFile",
        json={"data": "http://upstream.test:8084/Img/39098ac9.jpg", "errmsg": "ok", "errorcode": 0},
    )
    reply = api.download_wechat_file("U", "https://imunion.test/x", "v1_a", "afb5", "a.jpg", 10)
    assert api.media_url(reply) == "http://upstream.test:8084/Img/39098ac9.jpg"


def test_failure_code_reads_either_field():
    assert failure_code({"errcode": 0, "errmsg": "ok"}) is None
    assert failure_code({"errorcode": 0, "errmsg": "ok"}) is None
    assert failure_code({"data": None}) is None
    assert failure_code({"errorcode": "-3"}) == -3
    assert failure_code({"errcode": 0, "errorcode": 7}) == 7  # either one saying no is a no
    assert failure_code({"errcode": 500, "errorcode": 0}) == 500


@responses.activate
def test_refused_upload_and_send_are_typed(api):
    responses.post(f"{BASE}/wxwork/CdnUploadImgLink", json=envelope(None, -1, "图片下载失败"))
    with pytest.raises(UpstreamRefused) as caught:
        api.upload_image_link("U", "https://example.test/a.png")
    assert caught.value.request == {"uuid": "U", "url": "https://example.test/a.png"}
    responses.post(f"{BASE}/wxwork/CdnUploadImg", status=502, body="bad gateway")
    with pytest.raises(UpstreamHTTPError) as http_error:
        api.upload_image("U", Upload("a.png", b"123"))
    assert http_error.value.request["file"] == {
        "filename": "a.png",
        "size": 3,
        "contentType": "application/octet-stream",
    }
    responses.post(f"{BASE}/wxwork/RevokeMsg", body=requests.ReadTimeout("slow"))
    with pytest.raises(UpstreamTimeout):
        api.revoke("U", 1)


@responses.activate
def test_every_room_is_paged_to_the_end_with_star_index(api):
    rooms = [{"room_id": ROOM + n, "nickname": f"群{n}", "total": 3} for n in range(23)]

    def page(request):
        body = json.loads(request.body)
        start, limit = body["star_index"], body["limit"]
        return 200, {}, json.dumps(envelope({"seq": 0, "room_list": rooms[start : start + limit]}))

    responses.add_callback(responses.POST, f"{BASE}/wxwork/GetSessionRoomList", callback=page)
    listed = api.all_session_rooms("U", page_size=10)
    assert [room["room_id"] for room in listed] == [ROOM + n for n in range(23)]
    assert [sent_json(call)["star_index"] for call in responses.calls] == [0, 10, 20, 23]
    assert listed[0]["room_id"] == 10817857838351957  # exact, no float on the way


@responses.activate
def test_room_paging_stops_on_an_upstream_that_repeats_its_page(api):
    same = envelope({"seq": 0, "room_list": [{"room_id": ROOM, "nickname": ""}]})
    responses.post(f"{BASE}/wxwork/GetSessionRoomList", json=same)
    assert [room["room_id"] for room in api.all_session_rooms("U")] == [ROOM]
    assert len(responses.calls) == 2
    responses.replace(responses.POST, f"{BASE}/wxwork/GetSessionRoomList", json=envelope({"seq": 0}))
    with pytest.raises(UpstreamBadData):
        api.all_session_rooms("U")


@responses.activate
def test_download_links_are_read_and_loopback_links_reach_the_upstream_host(api):
    responses.post(f"{BASE}/wxwork/DownloadFile", json=envelope("http://127.0.0.1:8060/Video/测试.mp4", errmsg="成功"))
    reply = api.download_file("U", "3069", "376A", 4, "测试.mp4", 10)
    assert api.media_url(reply) == "http://upstream.test:8060/Video/测试.mp4"
    responses.post(f"{BASE}/wxwork/bigFileDownUrl", json=envelope({"url": "http://10.0.0.9:8060/a.zip", "md5": "CF"}))
    assert api.media_url(api.big_file_download("U", "*1*x", "a.zip", 1)) == "http://10.0.0.9:8060/a.zip"
    responses.replace(responses.POST, f"{BASE}/wxwork/DownloadFile", json=envelope(None, errmsg="成功"))
    with pytest.raises(UpstreamBadData):
        api.media_url(api.download_file("U", "3069", "376A", 4, "x", 10))
    local = UpstreamClient("http://127.0.0.1:9952")  # an upstream on this host: its loopback links stay
    responses.replace(responses.POST, f"{BASE}/wxwork/DownloadFile", json=envelope("http://127.0.0.1:8060/a"))
    assert local.media_url(api.download_file("U", "3069", "376A", 4, "x", 10)) == "http://127.0.0.1:8060/a"


@responses.activate
def test_download_to_writes_the_bytes_and_enforces_the_cap(api):
    responses.get("http://upstream.test:8060/a.png", body=b"x" * 1000, content_type="image/png")
    target = io.BytesIO()
    done = api.download_to("http://upstream.test:8060/a.png", target, max_bytes=1000)
    assert (done.size, done.content_type, target.getvalue()) == (1000, "image/png", b"x" * 1000)
    with pytest.raises(MediaTooLarge):
        api.download_to("http://upstream.test:8060/a.png", io.BytesIO(), max_bytes=999)
    responses.get("http://upstream.test:8060/gone", status=404)
    with pytest.raises(UpstreamHTTPError):
        api.download_to("http://upstream.test:8060/gone", io.BytesIO(), max_bytes=1000)


def test_at_segments_and_bad_ids():
    assert at_segments("", [], at_all=True) == [{"msgtype": 5, "vid": 0}]
    assert at_segments("x", ["7881302555913738"]) == [{"msgtype": 0, "content": "x"}, {"msgtype": 5, "vid": PEER}]
    with pytest.raises(ValueError):
        UpstreamClient(BASE).revoke("U", "1.5")


def test_download_to_is_cut_at_its_deadline_by_a_dripping_server():
    """A media link that drips its body never trips the read timeout; the total deadline ends it."""
    import time

    from tests.test_upstream_client import DrippingUpstream

    server = DrippingUpstream("body", interval=0.2, total_s=10)
    try:
        api = UpstreamClient(server.url, connect_timeout=0.5, read_timeout=1.0)
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            api.download_to(f"{server.url}/Img/a.png", io.BytesIO(), max_bytes=10_000_000, deadline_s=1.0)
        assert time.monotonic() - started < 2.0
    finally:
        server.stop()
