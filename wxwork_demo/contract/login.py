"""The login flow (`local-api.md`, "Login flow"): init, callback, QR code, code, automatic login, refresh."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part, optional
from wxwork_demo.contract.common import Reply, UpstreamReply

Uuid = Annotated[str, fields.text(64, "The upstream instance; defaults to the active one (the most recently updated).")]
CallbackUrl = Annotated[
    str,
    fields.http_url("Where the upstream posts this instance's events (default CALLBACK_URL with its token)."),
]
CALLBACK_URL_NAMES = AliasChoices("url", "callbackUrl")


class UuidBody(Body):
    uuid: Uuid


class InitBody(Body):
    """The fields of upstream `init`: ids numeric, proxySituation 0 or 1, the rest short strings."""

    vid: Annotated[int, fields.upstream_id("The account's vid, to reuse a device (empty: a new device).")]
    ip: Annotated[str, fields.text(64, "Proxy host.")]
    port: Annotated[str, fields.text(8, "Proxy port.")]
    proxy_type: Annotated[str, fields.text(16)] = Field(alias="proxyType")
    user_name: Annotated[str, fields.text(128, "Proxy user.")] = Field(alias="userName")
    passward: Annotated[str, fields.text(128, "Proxy password (the upstream's spelling).")]
    proxy_situation: Annotated[int, fields.one_of((0, 1), "0 no proxy (default), 1 proxy.", default=0)] = Field(
        alias="proxySituation"
    )
    dever_type: Annotated[str, fields.text(32, 'Device type (default "ipad").', default="ipad")] = Field(
        alias="deverType"
    )

    def upstream_fields(self) -> dict[str, Any]:
        """The init fields as the upstream names them."""
        return {
            "vid": self.vid or "",
            "ip": self.ip,
            "port": self.port,
            "proxyType": self.proxy_type,
            "userName": self.user_name,
            "passward": self.passward,
            "proxySituation": self.proxy_situation,
            "deverType": self.dever_type,
        }


class SetCallbackBody(Body):
    uuid: Uuid
    url: CallbackUrl = Field(validation_alias=CALLBACK_URL_NAMES)


class StartLoginBody(InitBody):
    url: CallbackUrl = Field(validation_alias=CALLBACK_URL_NAMES)


class CheckCodeBody(Body):
    REQUIRED = ("code",)

    uuid: Uuid
    code: Annotated[str, fields.six_digit_code("The 6-digit code the phone shows.")]
    qrcode_key: Annotated[str, fields.text(128, "Defaults to the instance's key from getQrCode.")] = Field(
        alias="qrcodeKey"
    )


class Init(Reply):
    uuid: str
    is_login: bool
    init: UpstreamReply
    stored: bool | None = optional("false when the upstream created the instance but the database did not store it")
    warning: str | None = optional()


class CallbackSet(Reply):
    uuid: str
    callback_url: str
    callback: UpstreamReply
    warning: str | None = optional("The upstream cannot reach this URL (it names this machine), and the fix.")


class QrCode(Reply):
    uuid: str
    qrcode: str
    qrcode_key: str
    ttl: int = 0
    get_qr_code: UpstreamReply


class LoginStarted(Reply):
    uuid: str
    is_login: bool
    qrcode: str
    qrcode_key: str
    ttl: int = 0
    stored: bool | None = optional("false when the instance was not stored: no QR code was fetched")
    warning: str | None = optional()


class Raw(Reply):
    """The upstream's answer as it came."""

    raw: UpstreamReply
    warning: str | None = optional("automatic-login: the account was online already.")


class UuidOnly(Part):
    uuid: str


class RunClient(Reply):
    request: UuidOnly
    is_login: bool = False
    get_run_client: UpstreamReply
    get_run_client_by_uuid: UpstreamReply
    warning: str | None = optional("Logged in by the upstream's word, but no callback said so: they are lost.")
