"""The actions of upstream-api-more.md §1-§4 on `/wxwork/<Action>`: sending more than text, received media,
rooms and friends. Each handler reads its body as the vendor documents it and calls upstream_ops.

`DownloadWeChatFile` answers `errorcode` and no `errcode` at all, failures included (07-cdn's sample): the API
layer shapes its envelope that way (ERRORCODE_ONLY_ACTIONS).
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import FileStorage

from . import cdn
from .directory import clamp_limit
from .parsing import FieldError, parse_bool, parse_id, parse_int
from .runtime import Simulator

ERRORCODE_ONLY_ACTIONS = frozenset({"DownloadWeChatFile"})
# Segment kinds of SendTextAtMsgTwo's `contentva` (03-message, 格式化发送@消息): text, emoji text, @.
_TEXT_SEGMENTS, _AT_SEGMENT = (0, 3), 5


def _required_id(sim: Simulator, body: dict[str, Any], name: str) -> int:
    value = parse_id(body.get(name), name)
    if value is None:
        raise sim.state.errors.error("missing_field", field=name)
    return value


def _ids(value: Any, name: str) -> list[int]:
    if not isinstance(value, list):
        raise FieldError(name)
    ids = [parse_id(item, name) for item in value]
    return [item if item is not None else 0 for item in ids]


def _send_text_at_msg(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    room_id = _required_id(sim, body, "send_userid")
    content = body.get("content")
    if not content:
        raise sim.state.errors.error("missing_field", field="content")
    at_ids = _ids(body.get("atids") or [], "atids")
    echo = sim.upstream.send_text_at(
        body.get("uuid"), room_id, parse_bool(body.get("isRoom")), str(content), at_ids, at_all=False
    )
    return echo, "ok"


def _send_text_at_msg_two(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    room_id = _required_id(sim, body, "send_userid")
    segments = body.get("contentva")
    if not isinstance(segments, list) or not segments:
        raise sim.state.errors.error("missing_field", field="contentva")
    text, at_ids = [], []
    for segment in segments:
        kind = parse_int(segment.get("msgtype") if isinstance(segment, dict) else None, "contentva.msgtype", -1)
        if kind in _TEXT_SEGMENTS:
            text.append(str(segment.get("content") or ""))
        elif kind == _AT_SEGMENT:
            at_ids.append(parse_id(segment.get("vid"), "contentva.vid") or 0)  # vid 0: @all
        else:
            raise FieldError("contentva.msgtype")
    at_all = 0 in at_ids
    people = [user_id for user_id in at_ids if user_id]
    echo = sim.upstream.send_text_at(
        body.get("uuid"), room_id, parse_bool(body.get("isRoom")), "".join(text), people, at_all=at_all
    )
    return echo, "ok"


def _image_answer(blob: cdn.Blob) -> dict[str, Any]:
    """CdnUploadImgLink / CdnUploadImg (07-cdn)."""
    assert blob.thumb is not None
    return {
        "cdn_key": blob.file_id,
        "fileid": blob.file_id,
        "aes_key": blob.aes_key,
        "md5": blob.md5,
        "width": blob.width,
        "height": blob.height,
        "size": blob.size,
        "mid_image_size": blob.mid_size,
        "thumb_image_width": blob.thumb.width,
        "thumb_image_height": blob.thumb.height,
        "thumb_file_size": blob.thumb.size,
        "thumb_file_md5": blob.thumb.md5,
        "retcode": "0",
    }


def _link_of(sim: Simulator, body: dict[str, Any]) -> str:
    url = body.get("url")
    if not url:
        raise sim.state.errors.error("missing_url")
    return str(url)


def _file_of(sim: Simulator, body: dict[str, Any]) -> tuple[bytes, str]:
    upload = body.get("file")
    if not isinstance(upload, FileStorage):
        raise sim.state.errors.error("missing_field", field="file")
    # One byte past the cap is enough to refuse; the rest is never read.
    data = upload.stream.read(sim.settings.upload_max_bytes + 1)
    return data, upload.filename or ""


def _cdn_upload_img_link(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))  # an offline instance says so whatever the body holds
    blob = sim.upstream.upload(body.get("uuid"), cdn.IMAGE, _link_of(sim, body), None, "")
    return _image_answer(blob), "成功"


def _cdn_upload_img(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    data, name = _file_of(sim, body)
    return _image_answer(sim.upstream.upload(body.get("uuid"), cdn.IMAGE, None, data, name)), "成功"


def _upload_cdn_link_file(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    name = str(body.get("filename") or "")
    blob = sim.upstream.upload(body.get("uuid"), cdn.FILE, _link_of(sim, body), None, name)
    answer = {"size": blob.size, "cdn_key": blob.file_id, "aes_key": blob.aes_key, "fileid": blob.file_id}
    return {**answer, "md5": blob.md5}, "成功"


def _cdn_upload_file(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    data, name = _file_of(sim, body)
    blob = sim.upstream.upload(body.get("uuid"), cdn.FILE, None, data, name)
    # 07-cdn's sample answers no cdn_key here: the send step takes the fileid.
    return {"size": blob.size, "aes_key": blob.aes_key, "fileid": blob.file_id, "md5": blob.md5}, "成功"


def _send_fields(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    for name in ("cdnkey", "aeskey", "md5"):
        if not body.get(name):
            raise sim.state.errors.error("missing_field", field=name)
    fields: dict[str, Any] = {name: body.get(name) for name in ("cdnkey", "aeskey", "md5")}
    file_size = parse_int(body.get("fileSize"), "fileSize", -1)
    if file_size < 0:
        raise sim.state.errors.error("missing_field", field="fileSize")
    fields["fileSize"] = file_size
    image_fields = ("width", "height", "thumb_image_height", "thumb_image_width", "thumb_file_size")
    for name in image_fields:
        if body.get(name) is not None:
            fields[name] = parse_int(body.get(name), name, 0)
    if body.get("thumb_file_md5"):
        fields["thumb_file_md5"] = body["thumb_file_md5"]
    return fields


def _send_cdn_img_msg(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    target = _required_id(sim, body, "send_userid")
    echo = sim.upstream.send_cdn(
        body.get("uuid"), cdn.IMAGE, target, parse_bool(body.get("isRoom")), _send_fields(sim, body)
    )
    return echo, "ok"


def _send_cdn_file_msg(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    target = _required_id(sim, body, "send_userid")
    file_name = body.get("file_name")
    if not file_name:
        raise sim.state.errors.error("missing_field", field="file_name")
    fields = _send_fields(sim, body)
    echo = sim.upstream.send_cdn(
        body.get("uuid"), cdn.FILE, target, parse_bool(body.get("isRoom")), fields, str(file_name)
    )
    return echo, "ok"


def _revoke_msg(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    msg_id = _required_id(sim, body, "msgid")
    sim.upstream.revoke(body.get("uuid"), msg_id, parse_id(body.get("roomid"), "roomid"))
    return None, "ok"


def _download_file(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    body = {**body, "filetype": parse_int(body.get("filetype"), "filetype", 0)}
    return sim.upstream.download_file(body.get("uuid"), body, base_url), "成功"


def _download_wechat_file(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    return sim.upstream.download_wechat_file(body.get("uuid"), body, base_url), "ok"


def _big_file_down_url(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    return sim.upstream.big_file_download(body.get("uuid"), body, base_url), "ok"


def _get_session_room_list(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    star_index = max(0, parse_int(body.get("star_index"), "star_index", 0))
    limit = clamp_limit(body.get("limit") or 10)
    return sim.upstream.session_rooms(body.get("uuid"), star_index, limit), "ok"


def _get_room_user_list(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    return sim.upstream.room_members(body.get("uuid"), _required_id(sim, body, "roomid")), "ok"


def _get_apply_user_list(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    seq = max(0, parse_int(body.get("seq"), "seq", 0))
    return sim.upstream.apply_users(body.get("uuid"), seq, clamp_limit(body.get("limit"))), "ok"


def _agree_user(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.logged_in_account(body.get("uuid"))
    sim.upstream.agree_user(body.get("uuid"), _required_id(sim, body, "vid"))
    return None, "ok"


def _automatic_consent(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    state = parse_int(body.get("state"), "state", -1)
    if state not in (0, 1):
        raise FieldError("state")
    sim.upstream.set_friend_verification(body.get("uuid"), required=state == 1)
    return None, "ok"


def _get_user_info_by_vids(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    return sim.upstream.users_by_ids(body.get("uuid"), _ids(body.get("vids") or [], "vids")), "ok"


MORE_ACTIONS = {
    "SendTextAtMsg": _send_text_at_msg,
    "SendTextAtMsgTwo": _send_text_at_msg_two,
    "CdnUploadImgLink": _cdn_upload_img_link,
    "CdnUploadImg": _cdn_upload_img,
    "SendCDNImgMsg": _send_cdn_img_msg,
    "UploadCdnLinkFile": _upload_cdn_link_file,
    "CdnUploadFile": _cdn_upload_file,
    "SendCDNFileMsg": _send_cdn_file_msg,
    "RevokeMsg": _revoke_msg,
    "DownloadFile": _download_file,
    "DownloadWeChatFile": _download_wechat_file,
    "bigFileDownUrl": _big_file_down_url,
    "GetSessionRoomList": _get_session_room_list,
    "GetRoomUserList": _get_room_user_list,
    "GetApplyUserList": _get_apply_user_list,
    "AgreeUser": _agree_user,
    "AutomaticConsent": _automatic_consent,
    "GetUserInfoByVids": _get_user_info_by_vids,
}
