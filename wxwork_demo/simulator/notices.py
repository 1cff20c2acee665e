"""Payloads of the callbacks beyond login and plain messages (upstream-api-more.md §6), shaped like the
vendor's samples: 22-callback-group (115xxx), 23-callback-contact (116001, 102001/102002/102006),
21-callback-message (102000 system notice, msgtype 1011) and 20-callback-login (100006).
"""

from __future__ import annotations

import time
import urllib.parse
import uuid as uuid_module
from typing import Any

from .messages import MessageFactory
from .model import Payload

# msgtype and what the room callback means (22-callback-group); 115001 carries the room itself instead.
ROOM_EVENTS: dict[int, tuple[int, str]] = {
    115002: (1003, "members removed"),
    115003: (1002, "invited"),
    115004: (2055, "you left"),
    115005: (1001, "renamed"),
    115006: (1022, "owner or settings changed"),
    115007: (1043, "admins changed"),
    115008: (1023, "dissolved"),
    115009: (2118, "member change: read the member list again"),
}
BAN_MESSAGE = "因账号违规，当前功能已被限制使用。 查看详情"
DELETED_MESSAGE = (
    "{name}开启了联系人验证，你还不是他（她）的联系人。"
    "请先发送联系人验证请求，对方验证通过后，才能聊天。 发送联系人验证"
)
BLOCKED_MESSAGE = "消息已发出，但被对方拒收了"


def _message_shell(messages: MessageFactory, *, sender: int, receiver: int, msgtype: int, flag: int) -> Payload:
    msg_id, server_id, app_info = messages.next_ids()
    return {
        "flag": flag,
        "receiver": receiver,
        "sender_name": "",
        "is_room": 0,
        "server_id": server_id,
        "issync": False,
        "send_time": int(time.time()),
        "sender": sender,
        "referid": 0,
        "app_info": app_info,
        "readuinscount": 0,
        "msg_id": msg_id,
        "msgtype": msgtype,
    }


def corp_switch(old_vid: int, new_vid: int, corp_id: int, corp_name: str, nickname: str, avatar: str) -> Payload:
    """100006: the account switched corp; `this_vid` is the id before, `vid` the id after."""
    return {
        "this_vid": old_vid,
        "vid": new_vid,
        "corp_full_name": "",
        "corpid": corp_id,
        "create_time": int(time.time()),
        "mail": "",
        "ownername": "",
        "card_url": "https://work.weixin.qq.com/wework_admin/user/h5/corp?",
        "nickname": nickname,
        "avatar": avatar,
        "corp_name": corp_name,
    }


def contact_bounce(messages: MessageFactory, own_vid: int, contact: int, *, blocked: bool, name: str) -> Payload:
    """102001 (you were deleted) or 102002 (you were blocked): a msgtype 1011 system message."""
    payload = _message_shell(messages, sender=own_vid, receiver=contact, msgtype=1011, flag=16777216)
    payload["msg"] = BLOCKED_MESSAGE if blocked else DELETED_MESSAGE.format(name=name)
    payload["app_info"] += "_blacklist" if blocked else "_need_verify"
    return payload


def read_on_phone(messages: MessageFactory, own_vid: int, contact: int) -> Payload:
    """102006: the conversation with `contact` was read on the phone (msgtype 2001)."""
    return _message_shell(messages, sender=own_vid, receiver=contact, msgtype=2001, flag=0)


def friend_request(applicant: dict[str, Any]) -> Payload:
    """116001: somebody asks to become a contact; `list` holds the applicants."""
    person = {key: applicant.get(key, "") for key in ("unionid", "avatar", "nickname")}
    return {
        "issync": False,
        "list": [
            {
                **person,
                "create_time": 0,
                "sex": applicant.get("sex", 0),
                "mobile": "",
                "company_remark": "",
                "acctid": "",
                "english_name": "",
                "remark_phone": [],
                "realname": "",
                "real_remarks": "",
                "user_id": applicant["user_id"],
                "position": "",
                "corp_id": applicant.get("corp_id", 0),
                "remarks": "",
                "seq": applicant.get("seq", 0),
                "status": 0,
            }
        ],
        "seq": applicant.get("seq", 0),
    }


def room_event(messages: MessageFactory, code: int, own_vid: int, room_id: str, member: int) -> Payload:
    """115001-115009: a room was created, or something changed in one."""
    if code == 115001:
        return {
            "room_id": room_id,
            "create_user_id": member,
            "total": 2,
            "notice_sendervid": int(room_id),
            "flag": 268435585,
            "create_time": int(time.time()),
            "notice_content": "",
            "nickname": "",
            "member_list": [
                {"uin": own_vid, "invite_user_id": member, "join_scene": 1, "jointime": int(time.time())},
                {"uin": member, "invite_user_id": member, "join_scene": 1, "jointime": int(time.time())},
            ],
            "new_flag": 4,
            "managers": [],
        }
    msgtype, _meaning = ROOM_EVENTS[code]
    payload = _message_shell(messages, sender=member, receiver=0, msgtype=msgtype, flag=83886080)
    payload["is_room"] = 1
    payload["room_conversation_id"] = room_id
    if code == 115002:
        payload["member_list"] = [member]
    elif code == 115003:
        payload.update(member_list=[], invitee=member, receiver=own_vid)
    elif code == 115004:
        payload["op_user_id"] = own_vid
    elif code == 115005:
        payload.update(room_name="新的群名", operation_user_name="", operation_user_id=member)
    elif code == 115006:
        payload.update(op_user_id=member, content="已经成为新的群主", extraContent={})
    elif code == 115007:
        payload["admin_vid"] = [member]
    return payload


def ban_notice(messages: MessageFactory, own_vid: int, key: str) -> Payload:
    """102000 msgtype 1011: the account's features were restricted; the jumpUrl explains why."""
    payload = _message_shell(messages, sender=7881302555913738, receiver=own_vid, msgtype=1011, flag=16777216)
    payload["msg"] = BAN_MESSAGE
    payload["extraContent"] = {"extraMessageLink": {"jumpUrl": ban_url(key), "linkType": 1}}
    payload["app_info"] = f"spam_block_{payload['app_info']}"
    return payload


def new_ban_key() -> str:
    return uuid_module.uuid4().hex + uuid_module.uuid4().hex


def ban_url(key: str) -> str:
    quoted = urllib.parse.quote(key, safe="")
    return f"https://work.weixin.qq.com/webapp/spam/info?key={quoted}&type=3&need_login=true"


def ban_key_of(url: str) -> str | None:
    """The key of a jumpUrl, as getBanDetile receives it."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    values = query.get("key")
    return values[0] if values else None


def ban_detail(vid: int, corp_id: int, key: str, ban: dict[str, Any]) -> Payload:
    """getBanDetile's answer (09-account, 获取当前账号封禁原因)."""
    return {
        "vid": str(vid),
        "gid": "2251803040000116",
        "mainData": {
            "ban_start_time": str(ban["start"]),
            "ban_source": 0,
            "is_show_title": True,
            "err_code": 0,
            "ban_title": ban["title"],
            "type": "3",
            "is_show_reason": True,
            "is_show_func": True,
            "ban_finish_time": str(ban["finish"]),
            "ban_category": 2,
            "appeal_status": 0,
            "can_appeal": True,
            "ban_id_type": 1,
            "need_login": "true",
            "ban_reason": ban["reason"],
            "template_type": 0,
            "ban_func": ban["functions"],
            "is_show_time": True,
            "can_urge": False,
            "key": key,
        },
        "isWechat": False,
        "isWxwork": True,
        "is_superadmin": 0,
        "corp_id": str(corp_id),
    }
