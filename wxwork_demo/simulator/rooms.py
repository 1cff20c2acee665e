"""The rooms (groups) each account is in, with their members, generated deterministically per account.

Shapes follow the vendor's 04-group pages: `GetSessionRoomList` pages `room_list` with `star_index` (an offset;
a page past the end is empty, as upstream-api-more.md §3 tells clients to expect), `GetRoomUserList` answers one
room with its `member_list`. Room ids are numbers above 2^53 (10696052955013024 in the samples), sent as JSON
numbers as the samples do; some rooms have no name (`nickname` ""), as in the samples. Members are the account
itself, colleagues from its corp's directory and some of its external contacts. The room callbacks of
control_ops (115001-115009) change these rooms.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from .accounts import Account
from .directory import Directory
from .messages import DEFAULT_ROOM_ID

ROOM_ID_LOW, ROOM_ID_HIGH = 10696052955000000, 10899999999999999
ROOM_NAMES = (
    "产品周会", "华东客户交流群", "销售冲刺小组", "技术支持群", "618活动筹备", "新人培训", "VIP客户服务群",
    "项目协调", "售后服务群", "市场部", "年会筹备组", "渠道合作伙伴", "",
)  # fmt: skip
# `flag` of GetSessionRoomList's sample; GetRoomUserList's `flag` says whether invitations are open.
SESSION_FLAG = 128
ROOM_FLAG_OPEN = 270532609


@dataclass
class Room:
    room_id: int
    nickname: str
    create_user_id: int
    create_time: int
    managers: list[int] = field(default_factory=list)
    notice_content: str = ""
    # user_id -> member entry as GetRoomUserList serialises it, in join order.
    members: dict[int, dict[str, Any]] = field(default_factory=dict)

    def session_entry(self) -> dict[str, Any]:
        """The room as GetSessionRoomList lists it."""
        return {
            "room_id": self.room_id,
            "create_user_id": self.create_user_id,
            "total": len(self.members),
            "flag": SESSION_FLAG,
            "create_time": self.create_time,
            "nickname": self.nickname,
            "managers": list(self.managers),
        }

    def detail(self) -> dict[str, Any]:
        """The room as GetRoomUserList answers it."""
        return {
            "room_id": self.room_id,
            "create_user_id": self.create_user_id,
            "total": len(self.members),
            "notice_sendervid": self.room_id,
            "anti_spam_rules": [],
            "create_time": self.create_time,
            "notice_content": self.notice_content,
            "nickname": self.nickname,
            "flag": ROOM_FLAG_OPEN,
            "new_flag": 2,
            "is_out": 0,
            "member_list": list(self.members.values()),
            "notice_time": 0,
            "managers": list(self.managers),
        }


class RoomBook:
    """Every account's rooms; call under the simulator's state lock."""

    def __init__(self, directory: Directory, seed: int, per_account: int, members_max: int) -> None:
        self.directory = directory
        self.seed = seed
        self.per_account = per_account
        self.members_max = members_max
        self._rooms: dict[int, list[Room]] = {}

    def of(self, account: Account) -> list[Room]:
        """The account's rooms, in the order GetSessionRoomList pages them."""
        rooms = self._rooms.get(account.user_id)
        if rooms is None:
            rooms = self._rooms[account.user_id] = self._generate(account)
        return rooms

    def find(self, account: Account, room_id: int | None) -> Room | None:
        return next((room for room in self.of(account) if room.room_id == room_id), None)

    def page(self, account: Account, star_index: int, limit: int) -> list[dict[str, Any]]:
        rooms = self.of(account)
        return [room.session_entry() for room in rooms[max(0, star_index) : max(0, star_index) + limit]]

    def clear(self) -> None:
        self._rooms.clear()

    # ----- what the room callbacks change ---------------------------------------------------------------

    def created(self, account: Account, room_id: int, creator: int) -> Room:
        """115001: a room with the account and `creator` in it (an existing one is kept)."""
        room = self.find(account, room_id)
        if room is None:
            room = Room(room_id=room_id, nickname="", create_user_id=creator, create_time=int(time.time()))
            room.members[account.user_id] = self._member_of_account(account, creator)
            room.members[creator] = self._member(account, creator, creator)
            self.of(account).insert(0, room)
        return room

    def changed(self, account: Account, code: int, room_id: int, member: int) -> None:
        """115002-115008 on a room the account has: members removed or invited, left, renamed, owner,
        admins, dissolved. Events about a room it does not have change nothing."""
        room = self.find(account, room_id)
        if room is None:
            return
        if code == 115002:
            room.members.pop(member, None)
        elif code == 115003:
            room.members.setdefault(member, self._member(account, member, account.user_id))
        elif code in (115004, 115008):
            self.of(account).remove(room)
        elif code == 115005:
            room.nickname = "新的群名"
        elif code == 115006:
            room.create_user_id = member
        elif code == 115007:
            room.managers = [member]

    # ----- generation -----------------------------------------------------------------------------------

    def _generate(self, account: Account) -> list[Room]:
        rng = random.Random(f"rooms:{self.seed}:{account.user_id}")
        colleagues = [
            entry["user_id"]
            for entry in self.directory.inner(account.corp_id, account.corp_name)
            if entry["is_Department"] == 0 and entry["user_id"] != account.user_id
        ]
        friends = [c["user_id"] for c in self.directory.external(account.user_id) if c["status"] not in (0, 8, 2049)]
        rooms: list[Room] = []
        used: set[int] = set()
        for index in range(self.per_account):
            # The first room is the one incoming room messages use by default (messages.DEFAULT_ROOM_ID), with
            # the account's first friend in it: the default sender of /_sim/message.
            room_id = int(DEFAULT_ROOM_ID) if index == 0 else rng.randint(ROOM_ID_LOW, ROOM_ID_HIGH)
            while room_id in used:
                room_id = rng.randint(ROOM_ID_LOW, ROOM_ID_HIGH)
            used.add(room_id)
            name = ROOM_NAMES[rng.randrange(len(ROOM_NAMES))] if index else ROOM_NAMES[0]
            size = rng.randint(2, max(2, self.members_max - 1))
            people = rng.sample(colleagues, min(len(colleagues), size // 2)) if colleagues else []
            people += rng.sample(friends, min(len(friends), size - len(people))) if friends else []
            if index == 0 and friends and friends[0] not in people:
                people.insert(0, friends[0])
            creator = rng.choice([account.user_id, *people[:3]])
            created = 1590000000 + rng.randrange(100_000_000)
            room = Room(room_id=room_id, nickname=name, create_user_id=creator, create_time=created)
            room.members[account.user_id] = self._member_of_account(account, creator, created)
            for user_id in people:
                room.members[user_id] = self._member(account, user_id, creator, created + rng.randrange(10_000_000))
            room.managers = [creator] if creator != account.user_id and rng.random() < 0.3 else []
            rooms.append(room)
        return rooms

    def _member_of_account(self, account: Account, inviter: int, joined: int | None = None) -> dict[str, Any]:
        return _member_entry(
            {
                "user_id": account.user_id,
                "unionid": account.unionid,
                "sex": account.sex,
                "mobile": account.mobile,
                "acctid": account.acctid,
                "avatar": account.avatar,
                "english_name": account.english_name,
                "realname": account.realname,
                "nickname": account.nickname,
                "position": account.position,
                "corp_id": account.corp_id,
            },
            inviter,
            joined or int(time.time()),
        )

    def _member(self, account: Account, user_id: int, inviter: int, joined: int | None = None) -> dict[str, Any]:
        person = self.directory.inner_person(account.corp_id, account.corp_name, user_id) or next(
            (c for c in self.directory.external(account.user_id) if c["user_id"] == user_id),
            {"user_id": user_id, "nickname": "", "corp_id": 0},
        )
        return _member_entry(person, inviter, joined or int(time.time()))


def _member_entry(person: dict[str, Any], inviter: int, joined: int) -> dict[str, Any]:
    """One `member_list` entry (04-group, 获取群成员列表)."""
    return {
        "unionid": person.get("unionid", ""),
        "create_time": 0,
        "sex": person.get("sex", 0),
        "mobile": person.get("mobile", ""),
        "acctid": person.get("acctid", ""),
        "join_scene": 1,
        "avatar": person.get("avatar", ""),
        "english_name": person.get("english_name", ""),
        "realname": person.get("realname", ""),
        "room_notes": "",
        "jointime": joined,
        "nickname": person.get("nickname", ""),
        "room_nickname": "",
        "position": person.get("position", ""),
        "uin": person["user_id"],
        "invite_user_id": inviter,
        "corp_id": person.get("corp_id", 0),
    }
