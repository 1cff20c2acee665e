"""Friend requests per account: what `GetApplyUserList` lists, `AgreeUser` accepts and callback 116001 announces.

Entries are shaped like the sample of 08-contact (获取好友申请列表): external-contact fields plus
`apply_create_time`, `apply_update_time`, `item_flag` and `state`, each with its own increasing `seq`; the list
is paged like the external contacts (items after `seq`; past the end an empty list and the same `seq`).

The docs explain only `item_flag` 3 ("deleted": swiped away, or the friend deleted). The rest is this
simulator's reading, marked invented: `item_flag` 1 and `state` 1 wait for an answer, `item_flag` 2 and `state`
2 were accepted (both samples, accepted requests by their apply_update_time, show 2). Every account starts
with `friend_requests` waiting, one accepted and one deleted, so a client has to tell them apart.
Accepting makes the applicant an external contact (status 9, "newly added", announced by callback 116002)
and moves the entry to a new `seq`. With verification off (`AutomaticConsent` state 0) a new request is
accepted at once.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from . import names

WAITING, ACCEPTED, DELETED = 1, 2, 3
_APPLICANT_ID_LOW, _APPLICANT_ID_HIGH = 7881310000000000, 7881319999999999


class FriendRefusal(Exception):
    """AgreeUser of somebody with no waiting request."""


@dataclass
class Requests:
    """One account's requests by applicant, and its verification setting."""

    entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    verification: bool = True
    next_seq: int = 7649700


class FriendBook:
    """Every account's friend requests; call under the simulator's state lock."""

    def __init__(self, seed: int, waiting: int) -> None:
        self.seed = seed
        self.waiting = waiting
        self._by_account: dict[int, Requests] = {}
        self._rng = random.Random(f"applicants:{seed}")

    def of(self, user_id: int) -> Requests:
        requests = self._by_account.get(user_id)
        if requests is None:
            requests = self._by_account[user_id] = self._generate(user_id)
        return requests

    def page(self, user_id: int, seq: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Entries with `seq` greater than `seq`, by seq, and the next cursor."""
        ordered = sorted(self.of(user_id).entries.values(), key=lambda entry: entry["seq"])
        page = [dict(entry) for entry in ordered if entry["seq"] > seq][:limit]
        return page, (page[-1]["seq"] if page else seq)

    def applicant(self, user_id: int, applicant_id: int) -> dict[str, Any] | None:
        return self.of(user_id).entries.get(applicant_id)

    def new_request(self, user_id: int, applicant: dict[str, Any] | None = None) -> dict[str, Any]:
        """Somebody asks `user_id` to be friends: a waiting entry (a new person unless `applicant` is given)."""
        requests = self.of(user_id)
        person = applicant or _new_person(self._rng)
        entry = self._entry(requests, person, WAITING, int(time.time()))
        requests.entries[entry["user_id"]] = entry
        return entry

    def accept(self, user_id: int, applicant_id: int) -> dict[str, Any]:
        """Mark the waiting request of `applicant_id` accepted; raise FriendRefusal when there is none."""
        requests = self.of(user_id)
        entry = requests.entries.get(applicant_id)
        if entry is None or entry["item_flag"] != WAITING:
            raise FriendRefusal(applicant_id)
        entry.update(item_flag=ACCEPTED, state=ACCEPTED, apply_update_time=int(time.time()), seq=self._seq(requests))
        return dict(entry)

    def set_verification(self, user_id: int, required: bool) -> None:
        self.of(user_id).verification = required

    def clear(self) -> None:
        self._by_account.clear()

    def _generate(self, user_id: int) -> Requests:
        rng = random.Random(f"applicants:{self.seed}:{user_id}")
        requests = Requests(next_seq=7649700 + rng.randrange(100))
        now = int(time.time())
        flags = [DELETED, ACCEPTED] + [WAITING] * self.waiting
        for index, flag in enumerate(flags):
            created = now - (len(flags) - index) * 3600
            entry = self._entry(requests, _new_person(rng), flag, created)
            requests.entries[entry["user_id"]] = entry
        return requests

    def _seq(self, requests: Requests) -> int:
        requests.next_seq += 1 + self._rng.randrange(12)
        return requests.next_seq

    def _entry(self, requests: Requests, person: dict[str, Any], flag: int, created: int) -> dict[str, Any]:
        return {
            "item_flag": flag,
            "unionid": person.get("unionid", ""),
            "create_time": 0,
            "sex": person.get("sex", 0),
            "mobile": "",
            "company_remark": "",
            "acctid": "",
            "avatar": person.get("avatar", ""),
            "english_name": "",
            "remark_phone": [],
            "realname": "",
            "apply_create_time": created,
            "real_remarks": "",
            "user_id": person["user_id"],
            "apply_update_time": created if flag == WAITING else created + 300,
            "nickname": person.get("nickname", ""),
            "position": "",
            "state": ACCEPTED if flag != WAITING else WAITING,
            "corp_id": person.get("corp_id", 1970325134026788),
            "source_info": {
                "vid": 0,
                "wx_friend_name": "",
                "apply_mode": 2,
                "mobile": "",
                "source_roomid": 0,
                "source_type": 54,
            },
            "remarks": "",
            "seq": self._seq(requests),
            "status": 1,
        }


def as_contact(entry: dict[str, Any], seq: int = 0) -> dict[str, Any]:
    """An accepted applicant as an external contact (GetExternalContacts, callback 116002): status 9, added."""
    contact = {key: entry[key] for key in ("unionid", "sex", "avatar", "user_id", "nickname", "corp_id")}
    return {
        **contact,
        "create_time": 0,
        "add_customer_time": int(time.time()),
        "mobile": "",
        "company_remark": "",
        "acctid": "",
        "source": entry["source_info"]["source_type"],
        "english_name": "",
        "remark_phone": [],
        "realname": "",
        "real_remarks": "",
        "labelid": [],
        "position": "",
        "source_info": dict(entry["source_info"]),
        "remarks": "",
        "seq": seq,
        "status": 9,
    }


def _new_person(rng: random.Random) -> dict[str, Any]:
    return {
        "user_id": rng.randint(_APPLICANT_ID_LOW, _APPLICANT_ID_HIGH),
        "unionid": names.unionid(rng),
        "nickname": names.wechat_nickname(rng),
        "avatar": f"http://wx.qlogo.cn/mmhead/{names.hex_token(rng, 32)}/0",
        "sex": rng.choice((0, 1, 2)),
        "corp_id": 1970325134026788,
    }
