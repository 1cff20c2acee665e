"""What the upstream keeps about one client instance, and the callback codes it sends (upstream-api.md §4.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

# Callback type codes (§4.1, upstream-api-more.md §6).
CB_SCANNED = 100001
CB_CONFIRMED = 100002
CB_SCAN_CANCELLED = 100003
CB_NEED_CODE = 100004
CB_PHONE_LOGOUT = 100005
CB_CORP_SWITCH = 100006
CB_CACHE_INVALID = 100007
CB_OTHER_DEVICE = 100008
CB_QR_TIMEOUT = 100009
CB_SECONDARY = 100012
CB_MESSAGE = 102000
CB_DELETED_BY_CONTACT = 102001
CB_BLOCKED_BY_CONTACT = 102002
CB_READ_ON_PHONE = 102006
CB_LOGIN_OK = 104001
CB_FRIEND_REQUEST = 116001
CB_CONTACT_CHANGED = 116002
CB_ROOM_EVENTS = tuple(range(115001, 115010))

DISCONNECT_MESSAGES: dict[int, str] = {
    CB_PHONE_LOGOUT: "手机端结束登录",
    CB_CACHE_INVALID: "登陆缓存失效，请重新登录。",
    CB_OTHER_DEVICE: "当前账号在其他设备登录，请重新扫码登录",
    CB_QR_TIMEOUT: "初始化接口二维码扫码超时断开",
    CB_SECONDARY: "出现二次验证，请重新获取二维码扫码验证登录",
}

# A JSON object as sent on the wire.
Payload = dict[str, Any]


class LoginType(IntEnum):
    """`loginType` of GetRunClientByUuid."""

    NOT_INITIALISED = 0
    INITIALISED = 1
    LOGGED_IN = 2


@dataclass
class Proxy:
    """Proxy settings from init/setProxy. The password is kept but never shown anywhere."""

    ip: str = ""
    port: str = ""
    proxy_type: str = ""
    user_name: str = ""
    password: str = field(default="", repr=False)
    situation: int = 0

    def public(self) -> dict[str, Any]:
        """View without the password, for the control surface."""
        return {
            "ip": self.ip,
            "port": self.port,
            "proxyType": self.proxy_type,
            "userName": self.user_name,
            "proxySituation": self.situation,
            "has_password": bool(self.password),
        }


@dataclass
class Instance:
    """One upstream client instance (one uuid)."""

    uuid: str
    init_vid: int | None
    proxy: Proxy
    created_at: float
    # Account whose device identity this instance carries: scanning with it needs no code.
    device_user_id: int | None = None
    callback_url: str | None = None
    callback_type: str = "HTTP"
    login_type: LoginType = LoginType.INITIALISED
    # Account bound by the latest login; kept after a logout/drop so GetRunClient still lists it.
    account_id: int | None = None
    logintime: int = 0
    update_time: int = 0
    # Unscanned login QR: key, image file name and monotonic deadline.
    qr_key: str | None = None
    qr_deadline: float | None = None
    # Key of the scanned QR while the phone shows a verification code.
    code_qr_key: str | None = None
    pending_code: str | None = None
    code_account_id: int | None = None
    secondary_pending: bool = False
    secondary_qr_key: str | None = None
    # Image file names of the QR codes issued on this instance (they go when it goes).
    qr_images: list[str] = field(default_factory=list)
    # File name of the image of the QR code a phone can scan now (login or secondary verification).
    current_image: str | None = None

    @property
    def is_login(self) -> bool:
        """Logged in, as GetRunClient(ByUuid) reports it."""
        return self.login_type == LoginType.LOGGED_IN
