"""Word lists and small generators for realistic-looking Chinese people, shared by profiles and contacts."""

from __future__ import annotations

import random
import string

# (hanzi, pinyin) pairs; the pinyin builds the `acctid` the way WeCom admins usually name accounts.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
    ("高", "Gao"), ("罗", "Luo"), ("郑", "Zheng"), ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"),
    ("唐", "Tang"), ("韩", "Han"), ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"), ("彭", "Peng"),
)  # fmt: skip

GIVEN_CHARS: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"),
    ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀", "Xiu"),
    ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"), ("华", "Hua"), ("建", "Jian"), ("文", "Wen"),
    ("玲", "Ling"), ("宇", "Yu"), ("浩", "Hao"), ("欣", "Xin"), ("婷", "Ting"), ("晨", "Chen"),
    ("佳", "Jia"), ("雪", "Xue"), ("琳", "Lin"), ("鹏", "Peng"), ("凯", "Kai"), ("颖", "Ying"),
    ("思", "Si"), ("子", "Zi"), ("嘉", "Jia"), ("瑶", "Yao"),
)  # fmt: skip

POSITIONS: tuple[str, ...] = (
    "产品经理", "销售经理", "客户经理", "软件工程师", "测试工程师", "设计师", "运营专员",
    "财务专员", "行政主管", "人事专员", "销售总监", "技术总监", "实习生", "",
)  # fmt: skip

DEPARTMENTS: tuple[str, ...] = (
    "销售部", "市场部", "产品部", "研发部", "客户服务部", "财务部", "人力资源部", "行政部",
    "法务部", "采购部", "质量管理部", "品牌部",
)  # fmt: skip

# WeChat nicknames are free text; a mix of phrases, names and latin keeps client rendering honest.
NICKNAME_PHRASES: tuple[str, ...] = (
    "十年一刻", "阳光明媚", "小鱼儿", "静待花开", "岁月静好", "追风少年", "一叶知秋", "半夏",
    "晴天", "无问西东", "山海", "南风知我意", "慢慢来", "木子", "糖果", "向日葵", "Lucky",
    "Sunny", "Tiger", "Coco", "Amy", "Kevin", "Jack", "Lily",
)  # fmt: skip

_BASE62 = string.ascii_letters + string.digits


def chinese_name(rng: random.Random) -> tuple[str, str]:
    """Return a random (realname, pinyin acctid) pair such as ("张思琳", "ZhangSiLin")."""
    surname, surname_py = rng.choice(SURNAMES)
    given = [rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2, 2)))]
    return surname + "".join(c for c, _ in given), surname_py + "".join(p for _, p in given)


def wechat_nickname(rng: random.Random) -> str:
    """Return a nickname as external (WeChat) users pick them."""
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(NICKNAME_PHRASES)
    name, _ = chinese_name(rng)
    if kind < 0.8:
        return name
    # Sales-style nickname with a sort prefix, e.g. "A-王磊-装修"; common among business WeChat users.
    return f"A-{name}-{rng.choice(('装修', '保险', '教育', '房产', '电商'))}"


def mobile(rng: random.Random) -> str:
    """Return an 11-digit mainland mobile number."""
    return "1" + rng.choice("3578") + "".join(rng.choice(string.digits) for _ in range(9))


def unionid(rng: random.Random) -> str:
    """Return a WeChat unionid-like token ("ozynq" + 23 base62 characters)."""
    return "ozynq" + "".join(rng.choice(_BASE62) for _ in range(23))


def hex_token(rng: random.Random, length: int) -> str:
    """Return `length` random lower-case hex characters."""
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))
