"""WeCom accounts that can log in to the simulator, and the payload shapes built from their profile."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from . import names

DEMO_USER_ID = 1688857362464764
DEFAULT_CORP_ID = 1970325000000000
DEFAULT_CORP_NAME = "明月科技"
DEFAULT_CORP_FULL_NAME = "明月科技有限公司"
DEFAULT_SCORP_ID = "ww75a3e1f0b2c9ccc9e"
CORP_LOGO = "https://wework.qpic.cn/wwpic/mingyue_logo/0"


@dataclass(kw_only=True)
class Account:
    """One WeCom user: the profile upstream reports plus what the simulator remembers about its logins."""

    user_id: int
    corp_id: int = DEFAULT_CORP_ID
    corp_name: str = DEFAULT_CORP_NAME
    corp_full_name: str = DEFAULT_CORP_FULL_NAME
    scorp_id: str = DEFAULT_SCORP_ID
    realname: str
    nickname: str
    acctid: str
    avatar: str
    mobile: str
    unionid: str
    sex: int
    position: str
    english_name: str = ""
    mail: str = ""
    # Set by the first successful login; init(vid) then counts as a reused device (no code, automaticLogin).
    has_logged_in: bool = False
    # Set through the control surface: automaticLogin refuses until somebody scans again.
    needs_scan: bool = False

    def run_client_object(self) -> dict[str, Any]:
        """Profile as nested in GetRunClient (`Corp_full_name`/`Corp_desc` capitalised, per §2.8)."""
        return {**self._profile(), "Corp_full_name": self.corp_full_name, "Corp_desc": ""}

    def run_client_by_uuid_object(self) -> dict[str, Any]:
        """Profile as nested in GetRunClientByUuid (lower-case `corp_full_name`/`corp_desc`, per §2.9)."""
        return {**self._profile(), "corp_full_name": self.corp_full_name, "corp_desc": ""}

    def _profile(self) -> dict[str, Any]:
        """The fields both GetRunClient answers share, spelt the same."""
        return {
            "unionid": self.unionid,
            "create_time": 0,
            "sex": self.sex,
            "mobile": self.mobile,
            "acctid": self.acctid,
            "scorp_id": self.scorp_id,
            "avatar": self.avatar,
            "corp_name": self.corp_name,
            "english_name": self.english_name,
            "realname": self.realname,
            "user_id": self.user_id,
            "nickname": self.nickname,
            "position": self.position,
            "corp_id": self.corp_id,
        }

    def scan_payload(self, qrcode_key: str) -> dict[str, Any]:
        """Payload of callbacks 100001/100002/100004 (capitalised keys, per §4.1)."""
        return {
            "Vid": self.user_id,
            "Qrcode_key": qrcode_key,
            "Corpid": self.corp_id,
            "Nick_name": self.nickname,
            "Icon_url": self.avatar,
            "Logo": CORP_LOGO,
        }

    def login_payload(self, *, fill_ids: bool = False) -> dict[str, Any]:
        """Payload of callback 104001: the full profile listed in §4.1.

        As in the docs' sample (20-callback-login), `Vid`, `Corpid` and `Corp_name` are 0, 0 and "": the
        account id is `user_id`, the corp's name `Corp_full_name`. `fill_ids` fills them (opt-in setting).
        """
        return {
            "Corpid": self.corp_id if fill_ids else 0,
            "unionid": self.unionid,
            "create_time": 0,
            "Admin_vid": 0,
            "sex": self.sex,
            "mobile": self.mobile,
            "Corp_full_name": self.corp_full_name,
            "acctid": self.acctid,
            "avatar": self.avatar,
            "corp_name": self.corp_name,
            "Create_time": 0,
            "english_name": self.english_name,
            "realname": self.realname,
            "Vid": self.user_id if fill_ids else 0,
            "Mail": self.mail if fill_ids else "",
            "Ownername": self.realname if fill_ids else "",
            "user_id": self.user_id,
            "nickname": self.nickname,
            "position": self.position,
            "Corp_desc": "",
            "corp_id": self.corp_id,
            "Corp_name": self.corp_name if fill_ids else "",
            "Corp_logo": CORP_LOGO if fill_ids else "",
        }

    def summary(self) -> dict[str, Any]:
        """Short view for the control surface."""
        return {
            "user_id": self.user_id,
            "realname": self.realname,
            "nickname": self.nickname,
            "corp_id": self.corp_id,
            "corp_name": self.corp_name,
            "has_logged_in": self.has_logged_in,
            "needs_scan": self.needs_scan,
        }


def demo_account() -> Account:
    """The fixed account a scan logs in when nobody is named."""
    return Account(
        user_id=DEMO_USER_ID,
        realname="刘演示",
        nickname="小刘",
        acctid="LiuYanShi",
        avatar="https://wework.qpic.cn/wwpic/demo_liuyanshi/0",
        mobile="13500000001",
        unionid="ozynqstMEN_38dTCLJIlwe73ZhB0",
        sex=1,
        position="产品经理",
        mail="liuyanshi@mingyue.example",
    )


def generated_account(user_id: int, seed: int) -> Account:
    """A deterministic profile for any other user_id (in the default corp, as every account)."""
    rng = random.Random(f"account:{seed}:{user_id}")
    realname, acctid = names.chinese_name(rng)
    return Account(
        user_id=user_id,
        realname=realname,
        nickname=realname if rng.random() < 0.6 else rng.choice(names.NICKNAME_PHRASES),
        acctid=acctid,
        avatar=f"https://wework.qpic.cn/wwpic/{names.hex_token(rng, 24)}/0",
        mobile=names.mobile(rng),
        unionid=names.unionid(rng),
        sex=rng.choice((1, 2)),
        position=rng.choice(names.POSITIONS),
        mail=f"{acctid.lower()}@mingyue.example",
    )


def account_from_person(person: dict[str, Any]) -> Account:
    """Turn an inner-directory person entry into a loggable account, so both views of them agree."""
    return Account(
        user_id=int(person["user_id"]),
        corp_id=int(person["corp_id"]),
        realname=person["realname"],
        nickname=person["nickname"],
        acctid=person["acctid"],
        avatar=person["avatar"],
        mobile=person["mobile"],
        unionid=person["unionid"],
        sex=person["sex"],
        position=person["position"],
        mail=f"{person['acctid'].lower()}@mingyue.example",
    )
