"""Errors the simulator answers with, and the error codes and texts it had to invent.

The vendor documents only a few failures (upstream-api.md §6): -11025 while secondary verification is
pending, `qrcode_not need verify` from CheckCode (its errcode is not given), and errcode 500 "实例未登录"
observed by another client (Morphix). Everything else below is **invented** for the simulator: a client
must branch on `errcode != 0` only, never on these values. Each can be replaced through the `errors`
setting (`{"name": [errcode, "errmsg"]}`), e.g. to try a client against other texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# name -> (errcode, errmsg, where it comes from)
KNOWN_ERRORS: dict[str, tuple[int, str, str]] = {
    "secondary_verification": (-11025, "出现二次验证，请重新获取二维码登录", "documented: 00-basic 二次验证注意事项"),
    "not_logged_in": (500, "实例未登录", "observed by Morphix (HTTP 200, errcode 500)"),
    "unknown_instance": (500, "实例不存在", "invented: upstream-api.md §6 sim-suggestion"),
    "no_verify_needed": (-1, "qrcode_not need verify", "errmsg documented (02-login), errcode invented"),
    "wrong_qrcode_key": (-1, "qrcodeKey 不匹配", "invented"),
    "wrong_code": (-1, "验证码错误", "invented"),
    "already_logged_in": (-1, "实例已登录", "invented"),
    "automatic_login_failed": (500, "自动登录失败，请扫码登录", "invented (failure shape undocumented, A17)"),
    "global_proxy": (-1, "全局代理不可取消", "invented (the rule is documented, the error is not)"),
    "missing_url": (-1, "url 不能为空", "invented"),
    "missing_field": (-1, "{field} 不能为空", "invented"),
    "bad_field": (-1, "{field} must be a number", "invented"),
    "bad_cursor": (-1, "strSeq 无效", "invented"),
    "unknown_ban_url": (-1, "封禁详情链接无效", "invented"),
    "upload_failed": (-1, "上传失败: {reason}", "invented"),
    "upload_too_large": (-1, "文件超过大小限制 {limit}", "invented"),
    "not_an_image": (-1, "图片格式错误", "invented"),
    "unknown_cdn_key": (-1, "cdnkey 无效", "invented"),
    "cdn_mismatch": (-1, "{field} 与上传结果不符", "invented"),
    "unknown_file": (-1, "文件不存在或已过期", "invented"),
    "download_mismatch": (-1, "下载失败: {field} 不匹配", "invented"),
    "unknown_message": (-1, "消息不存在", "invented"),
    "revoke_expired": (-1, "已超过可撤回时间", "invented"),
    "unknown_room": (-1, "群不存在或不在群内", "invented"),
    "not_in_room": (-1, "{user_id} 不是群成员", "invented"),
    "room_only": (-1, "isRoom 必须为 true", "invented"),
    "unknown_applicant": (-1, "好友申请不存在或已处理", "invented"),
}


class UpstreamError(Exception):
    """A business error of an upstream call: HTTP 200 with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, data: Any = None) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.data = data


class ControlError(Exception):
    """A refused control request (`/_sim/*`), answered with `status` and `{"ok": false, "message"}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ErrorTable:
    """The error answers of one simulator: the table above with the `errors` setting's overrides."""

    def __init__(self, overrides: Mapping[str, tuple[int, str]]) -> None:
        self._table = {name: (code, text) for name, (code, text, _source) in KNOWN_ERRORS.items()}
        self._table.update(overrides)

    def error(self, name: str, **fields: Any) -> UpstreamError:
        """The UpstreamError called `name` (its text formatted with `fields`), ready to raise."""
        errcode, errmsg = self._table[name]
        return UpstreamError(errcode, errmsg.format(**fields) if fields else errmsg)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """For the control surface: every error with its current code, text and source."""
        return {
            name: {"errcode": code, "errmsg": text, "source": KNOWN_ERRORS[name][2]}
            for name, (code, text) in self._table.items()
        }


def parse_error_overrides(value: Any) -> dict[str, tuple[int, str]]:
    """The `errors` setting: `{name: [errcode, errmsg]}` or `{name: {"errcode", "errmsg"}}`, names known."""
    if not isinstance(value, Mapping):
        raise ValueError("errors must be a mapping of error name to [errcode, errmsg]")
    result: dict[str, tuple[int, str]] = {}
    for name, spec in value.items():
        if name not in KNOWN_ERRORS:
            raise ValueError(f"unknown error name {name!r} (known: {', '.join(sorted(KNOWN_ERRORS))})")
        if isinstance(spec, Mapping):
            spec = (spec.get("errcode"), spec.get("errmsg"))
        try:
            errcode, errmsg = spec
            result[name] = (int(errcode), str(errmsg))
        except (TypeError, ValueError):
            raise ValueError(f"errors[{name!r}] must be [errcode, errmsg]") from None
    return result
