"""Deterministic generated contact directories and the two paging schemes of upstream-api.md §5.

Inner contacts (GetInnerContacts) are per corp: departments first, then people. Their cursor is an
opaque "_"-joined string token, `""` on the first call and `""` again once the last page was served.
External contacts (GetExternalContacts) are per account: every item carries an increasing `seq`, the
cursor is the last `seq` seen, and asking past the end gives an empty list with the same `seq`.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from . import names
from .accounts import DEFAULT_CORP_ID, Account, demo_account

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
# Generated external lists are cheap to rebuild, so only the most recently used ones are kept.
_EXTERNAL_CACHE_SIZE = 256


# One directory entry (department or person, or an external contact) as upstream serialises it.
Entry = dict[str, Any]


class InvalidCursor(ValueError):
    """The caller sent a cursor this directory never issued."""


def clamp_limit(limit: Any) -> int:
    """Page size from a request: default when missing or not positive, capped at MAX_PAGE_LIMIT."""
    try:
        value = int(limit)
    except (TypeError, ValueError):
        return DEFAULT_PAGE_LIMIT
    if value <= 0:
        return DEFAULT_PAGE_LIMIT
    return min(value, MAX_PAGE_LIMIT)


class Directory:
    """Generates (and caches) the inner directory of a corp and the external contacts of an account."""

    def __init__(self, seed: int, inner_people: int, external_count: int) -> None:
        self.seed = seed
        self.inner_people = inner_people
        self.external_count = external_count
        self._lock = threading.Lock()
        self._inner: dict[int, list[dict[str, Any]]] = {}
        self._external: OrderedDict[int, tuple[list[dict[str, Any]], list[int]]] = OrderedDict()
        # Contacts an account gained while the simulator ran (an accepted friend request), after the generated.
        self._added: dict[int, list[dict[str, Any]]] = {}

    # ----- inner contacts -------------------------------------------------------------------------

    def inner(self, corp_id: int, corp_name: str) -> list[dict[str, Any]]:
        """All inner entries of a corp: departments (`is_Department:1`) then people (`is_Department:0`)."""
        with self._lock:
            entries = self._inner.get(corp_id)
            if entries is None:
                entries = self._build_inner(corp_id, corp_name)
                self._inner[corp_id] = entries
            return entries

    def inner_person(self, corp_id: int, corp_name: str, user_id: int) -> dict[str, Any] | None:
        """The person entry with this user_id, if the corp's directory has one."""
        for entry in self.inner(corp_id, corp_name):
            if entry["is_Department"] == 0 and entry["user_id"] == user_id:
                return entry
        return None

    def page_inner(self, corp_id: int, corp_name: str, str_seq: Any, limit: Any) -> tuple[list[Entry], str]:
        """One page of inner contacts and the next cursor (`""` when this page is the last)."""
        entries = self.inner(corp_id, corp_name)
        offset = self._decode_inner_token(corp_id, str_seq)
        end = offset + clamp_limit(limit)
        page = entries[offset:end]
        next_token = self._encode_inner_token(corp_id, end) if end < len(entries) else ""
        return page, next_token

    def _encode_inner_token(self, corp_id: int, offset: int) -> str:
        # Shaped like the real token "7212886855337902081_7137487402645323777_2_…_0_…_0": big numbers
        # derived from corp and offset, with the offset itself in the third slot.
        digest = hashlib.sha256(f"{self.seed}:{corp_id}:{offset}".encode()).digest()
        big = [int.from_bytes(digest[i : i + 8], "big") % 10**18 + 6 * 10**18 for i in (0, 8, 16, 24)]
        return f"{big[0]}_{big[1]}_{offset}_{big[2]}_0_{big[3]}_0"

    def _decode_inner_token(self, corp_id: int, token: Any) -> int:
        if token is None or token == "" or token == 0:
            return 0
        text = str(token)
        parts = text.split("_")
        if len(parts) != 7 or not parts[2].isdigit():
            raise InvalidCursor(text)
        offset = int(parts[2])
        # Re-encoding proves the token came from this corp's listing and was not edited.
        if self._encode_inner_token(corp_id, offset) != text:
            raise InvalidCursor(text)
        return offset

    def _build_inner(self, corp_id: int, corp_name: str) -> list[dict[str, Any]]:
        rng = random.Random(f"inner:{self.seed}:{corp_id}")
        dept_count = max(1, min(len(names.DEPARTMENTS) + 1, round(self.inner_people / 10) or 1))
        create_time = 1591694295
        used_ids: set[int] = set()

        def fresh_id(low: int, high: int) -> int:
            while True:
                value = rng.randint(low, high)
                if value not in used_ids:
                    used_ids.add(value)
                    return value

        root_id = fresh_id(1688853000000000, 1688853999999999)
        departments = [_department(corp_id, corp_name, root_id, 0, 100000000, create_time)]
        for index, party_name in enumerate(rng.sample(names.DEPARTMENTS, dept_count - 1)):
            party_id = fresh_id(1688853000000000, 1688853999999999)
            order, created = 99999000 - index * 1000, create_time + index
            departments.append(_department(corp_id, party_name, party_id, root_id, order, created))

        people: list[dict[str, Any]] = []
        demo = demo_account()
        for index in range(self.inner_people):
            # The default corp's directory contains the demo account, so its own login shows up in it.
            if index == 0 and corp_id == DEFAULT_CORP_ID:
                used_ids.add(demo.user_id)
                people.append(_person_from_account(demo, departments[0]["partyid"]))
                continue
            dept = departments[rng.randrange(len(departments))]
            people.append(_generated_person(rng, corp_id, dept["partyid"], fresh_id, index))
        return departments + people

    # ----- external contacts ----------------------------------------------------------------------

    def external(self, user_id: int) -> list[dict[str, Any]]:
        """All external contacts of an account, ordered by their increasing `seq`."""
        return self._external_with_seqs(user_id)[0]

    def page_external(self, user_id: int, seq: int, limit: Any) -> tuple[list[dict[str, Any]], int]:
        """Items whose `seq` is greater than `seq`, and the next cursor (the last item's `seq`).

        Past the end the list is empty and the cursor comes back unchanged.
        """
        items, seqs = self._external_with_seqs(user_id)
        start = bisect.bisect_right(seqs, seq)
        page = items[start : start + clamp_limit(limit)]
        return page, (page[-1]["seq"] if page else seq)

    def add_external(self, user_id: int, contact: dict[str, Any]) -> dict[str, Any]:
        """A new external contact of `user_id`, with the next `seq` (so a reader paging by seq finds it)."""
        items, _ = self._external_with_seqs(user_id)
        with self._lock:
            entry = {**contact, "seq": (items[-1]["seq"] if items else 8052000) + 1}
            self._added.setdefault(user_id, []).append(entry)
            self._external.pop(user_id, None)
        return entry

    def forget_added(self) -> None:
        """Drop the contacts gained at run time (a reset)."""
        with self._lock:
            self._added.clear()
            self._external.clear()

    def _external_with_seqs(self, user_id: int) -> tuple[list[dict[str, Any]], list[int]]:
        with self._lock:
            cached = self._external.get(user_id)
            if cached is not None:
                self._external.move_to_end(user_id)
                return cached
            added = list(self._added.get(user_id, ()))
        built = self._build_external(user_id) + added
        cached = (built, [item["seq"] for item in built])
        with self._lock:
            self._external[user_id] = cached
            while len(self._external) > _EXTERNAL_CACHE_SIZE:
                self._external.popitem(last=False)
        return cached

    def _build_external(self, user_id: int) -> list[dict[str, Any]]:
        rng = random.Random(f"external:{self.seed}:{user_id}")
        seq = 8052000 + rng.randrange(1000)
        used_ids: set[int] = set()
        items: list[dict[str, Any]] = []
        for _ in range(self.external_count):
            seq += rng.randint(1, 40)
            contact_id = rng.randint(7881300000000000, 7881309999999999)
            while contact_id in used_ids:
                contact_id = rng.randint(7881300000000000, 7881309999999999)
            used_ids.add(contact_id)
            items.append(_external_contact(rng, contact_id, seq))
        return items


def _department(
    corp_id: int, party_name: str, party_id: int, parent_id: int, disp_order: int, create_time: int
) -> dict[str, Any]:
    return {
        "disp_order": disp_order,
        "corpid": corp_id,
        "party_name": party_name,
        "create_time": create_time,
        "remark": "",
        "partyid": party_id,
        "type": 0,
        "is_Department": 1,
        "parentid": parent_id,
        "status": 0,
    }


def _self_attr(employee_no: str) -> list[dict[str, Any]]:
    return [{"filed_name": "工号", "filed_value": employee_no, "field_id": "10001", "field_type": 0}]


def _person_from_account(account: Account, party_id: int) -> dict[str, Any]:
    return {
        "unionid": account.unionid,
        "create_time": 0,
        "sex": account.sex,
        "mobile": account.mobile,
        "acctid": account.acctid,
        "avatar": account.avatar,
        "english_name": account.english_name,
        "is_Department": 0,
        "realname": account.realname,
        "SelfAttrInfo": _self_attr("MY0001"),
        "user_id": account.user_id,
        "nickname": account.nickname,
        "position": account.position,
        "partyid": party_id,
        "corp_id": account.corp_id,
    }


def _generated_person(
    rng: random.Random, corp_id: int, party_id: int, fresh_id: Callable[[int, int], int], index: int
) -> dict[str, Any]:
    realname, acctid = names.chinese_name(rng)
    return {
        "unionid": names.unionid(rng),
        "create_time": 0,
        "sex": rng.choice((1, 2)),
        "mobile": names.mobile(rng),
        "acctid": acctid,
        "avatar": f"https://wework.qpic.cn/wwpic/{names.hex_token(rng, 24)}/0",
        "english_name": "",
        "is_Department": 0,
        "realname": realname,
        "SelfAttrInfo": _self_attr(f"MY{index + 1:04d}"),
        "user_id": fresh_id(1688851000000000, 1688858999999999),
        "nickname": realname if rng.random() < 0.7 else rng.choice(names.NICKNAME_PHRASES),
        "position": rng.choice(names.POSITIONS),
        "partyid": party_id,
        "corp_id": corp_id,
    }


# Friend status codes of §2.14: mostly current friends, with some deletions so clients must filter.
_EXTERNAL_STATUSES = (2057, 2057, 2057, 2057, 2057, 2057, 9, 2049, 2049, 8, 0)


def _external_contact(rng: random.Random, contact_id: int, seq: int) -> dict[str, Any]:
    nickname = names.wechat_nickname(rng)
    source = rng.choice((102, 102, 1, 3, 17))
    remark = names.chinese_name(rng)[0] if rng.random() < 0.3 else ""
    return {
        "unionid": names.unionid(rng),
        "create_time": 0,
        "add_customer_time": 1650000000 + rng.randrange(60_000_000),
        "sex": rng.choice((0, 1, 2)),
        "mobile": "",
        "company_remark": "",
        "acctid": "",
        "avatar": f"http://wx.qlogo.cn/mmhead/{names.hex_token(rng, 32)}/0",
        "source": source,
        "english_name": "",
        "remark_phone": [],
        "realname": "",
        "real_remarks": "",
        "labelid": [str(14073749556770626 + rng.randrange(40))] if rng.random() < 0.4 else [],
        "user_id": contact_id,
        "nickname": nickname,
        "position": "",
        "corp_id": 1970325134026788,
        "source_info": {
            "vid": 0,
            "wx_friend_name": "",
            "apply_mode": 1,
            "mobile": "",
            "source_roomid": 10889703532203248 if source == 102 else 0,
            "source_type": source,
        },
        "remarks": remark,
        "seq": seq,
        "status": rng.choice(_EXTERNAL_STATUSES),
    }
