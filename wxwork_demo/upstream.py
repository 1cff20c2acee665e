"""The one client of the upstream "iPad protocol" HTTP service.

A single `requests.Session` (keep-alive pooling) shared by the views and the monitor job. Every call is
`POST {base_url}/wxwork/<Action>` with a JSON body and (connect, read) timeouts. Callers never see a raw
`requests` exception: failures become one of the `UpstreamError` subclasses below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from wxwork_demo.config import Settings

EXTENSION_KEY = "wxwork_upstream"


class UpstreamError(Exception):
    """The upstream call did not succeed. `status` is the HTTP status our API answers with."""

    status = 502
    kind = "upstream_error"

    def __init__(self, action: str, message: str, *, raw: Any = None, http_status: int | None = None):
        super().__init__(message)
        self.action = action
        self.message = message
        self.raw = raw
        self.http_status = http_status
        self.request: dict = {}

    def to_dict(self) -> dict:
        return {"kind": self.kind, "action": self.action, "message": self.message, "httpStatus": self.http_status}


class UpstreamUnreachable(UpstreamError):
    kind = "unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    kind = "timeout"


class UpstreamHTTPError(UpstreamError):
    kind = "http_error"


class UpstreamNotJSON(UpstreamError):
    kind = "not_json"


class UpstreamRefused(UpstreamError):
    """HTTP 200 with errcode != 0: the upstream understood and said no."""

    kind = "refused"

    def __init__(self, action: str, errcode: int, errmsg: str, raw: dict):
        super().__init__(action, f"upstream {action} refused: errcode {errcode}, {errmsg}", raw=raw, http_status=200)
        self.errcode = errcode
        self.errmsg = errmsg

    def to_dict(self) -> dict:
        return {**super().to_dict(), "errcode": self.errcode, "errmsg": self.errmsg}


@dataclass
class Reply:
    """A successful upstream answer with what was sent, for the events log."""

    action: str
    request: dict
    envelope: dict
    elapsed_ms: float

    @property
    def data(self) -> Any:
        return self.envelope.get("data")


@dataclass
class QrCode:
    image: str
    key: str
    ttl: int
    url: str = ""
    base64: str = ""


@dataclass
class UpstreamClient:
    base_url: str
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    pool_size: int = 32
    ca_bundle: str = ""  # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, read by config.py
    http: requests.Session = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.http = requests.Session()
        # requests' proxy variables (HTTP(S)_PROXY, NO_PROXY) are read once, here, for the one upstream
        # address: requests would otherwise read them again on every call.
        self.http.proxies = {k: v for k, v in get_environ_proxies(self.base_url).items() if k != "no"}
        self.http.verify = self.ca_bundle or True
        self.http.trust_env = False
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def post(self, action: str, body: dict) -> Reply:
        """POST `body` to `/wxwork/<action>` and return the envelope, or raise an `UpstreamError`."""
        try:
            return self._post(action, body)
        except UpstreamError as exc:
            exc.request = body
            raise

    def _post(self, action: str, body: dict) -> Reply:
        url = f"{self.base_url}/wxwork/{action}"
        started = time.perf_counter()
        try:
            response = self.http.post(url, json=body, timeout=(self.connect_timeout, self.read_timeout))
        except requests.Timeout as exc:
            raise UpstreamTimeout(action, f"upstream {action} timed out: {type(exc).__name__}") from None
        except requests.ConnectionError as exc:
            raise UpstreamUnreachable(
                action, f"upstream {action} unreachable at {self.base_url}: {_short(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise UpstreamUnreachable(action, f"upstream {action} failed: {_short(exc)}") from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise UpstreamHTTPError(
                action,
                f"upstream {action} answered HTTP {response.status_code}",
                raw=response.text[:500],
                http_status=response.status_code,
            )
        try:
            envelope = response.json()
        except ValueError:
            raise UpstreamNotJSON(
                action,
                f"upstream {action} answered with a body that is not JSON",
                raw=response.text[:500],
                http_status=200,
            ) from None
        if not isinstance(envelope, dict):
            raise UpstreamNotJSON(action, f"upstream {action} answered JSON that is not an object", raw=envelope)
        errcode = envelope.get("errcode", 0)
        if errcode not in (0, None, "0"):
            raise UpstreamRefused(action, _as_int(errcode), str(envelope.get("errmsg", "")), envelope)
        return Reply(action=action, request=body, envelope=envelope, elapsed_ms=elapsed_ms)

    # The endpoints, named after what they do; bodies exactly as upstream-api.md §2 documents them.

    def init(self, fields: dict) -> Reply:
        return self.post("init", fields)

    def set_callback_url(self, uuid: str, url: str) -> Reply:
        return self.post("SetCallbackUrl", {"uuid": uuid, "url": url})

    def get_qrcode(self, uuid: str) -> Reply:
        return self.post("getQrCode", {"uuid": uuid})

    def check_code(self, uuid: str, qrcode_key: str, code: str) -> Reply:
        return self.post("CheckCode", {"uuid": uuid, "qrcodeKey": qrcode_key, "code": code})

    def automatic_login(self, uuid: str) -> Reply:
        return self.post("automaticLogin", {"uuid": uuid})

    def login_out(self, uuid: str) -> Reply:
        return self.post("LoginOut", {"uuid": uuid})

    def secondary_validation(self, uuid: str) -> Reply:
        return self.post("SecondaryValidation", {"uuid": uuid})

    def get_run_client(self, uuid: str | None = None) -> Reply:
        return self.post("GetRunClient", {"uuid": uuid} if uuid else {})

    def get_run_client_by_uuid(self, uuid: str) -> Reply:
        return self.post("GetRunClientByUuid", {"uuid": uuid})

    def close_connection(self, uuid: str) -> Reply:
        return self.post("CloseConnent", {"uuid": uuid})

    def set_proxy(self, uuid: str, proxy: dict) -> Reply:
        return self.post("setProxy", {"uuid": uuid, **proxy})

    def send_text(self, uuid: str, send_userid: int, is_room: bool, content: str, kf_id: int = 0) -> Reply:
        body = {"uuid": uuid, "kf_id": kf_id, "send_userid": send_userid, "isRoom": is_room, "content": content}
        return self.post("SendTextMsg", body)

    def inner_contacts(self, uuid: str, limit: int, str_seq: str = "") -> Reply:
        return self.post("GetInnerContacts", {"uuid": uuid, "limit": limit, "strSeq": str_seq})

    def external_contacts(self, uuid: str, limit: int, seq: int = 0) -> Reply:
        return self.post("GetExternalContacts", {"uuid": uuid, "limit": limit, "seq": seq})

    def ban_detail(self, uuid: str, url: str) -> Reply:
        """getBanDetile (the API's spelling): what a ban notice's link says (upstream-api-more.md §6)."""
        return self.post("getBanDetile", {"uuid": uuid, "url": url})

    def download(self, url: str, max_bytes: int = 2_000_000) -> bytes:
        """GET a file the upstream links to (a QR image), at most `max_bytes`, or raise an `UpstreamError`."""
        try:
            response = self.http.get(url, timeout=(self.connect_timeout, self.read_timeout), stream=True)
            data = response.raw.read(max_bytes + 1, decode_content=True)
        except requests.RequestException as exc:
            raise UpstreamUnreachable("download", f"download of {url} failed: {_short(exc)}") from None
        if response.status_code != 200 or len(data) > max_bytes:
            raise UpstreamHTTPError("download", f"download of {url} answered HTTP {response.status_code}")
        return data


INIT_FIELDS = ("vid", "ip", "port", "proxyType", "userName", "passward")


def init_request(fields: dict) -> dict:
    """The init body: all eight documented fields, empty when not given (upstream-api.md §2.1)."""
    body = {name: fields.get(name, "") for name in INIT_FIELDS}
    body["proxySituation"] = fields.get("proxySituation", 0)
    body["deverType"] = fields.get("deverType") or "ipad"
    return body


# Readers for the documented quirks of the upstream's answers.


def parse_is_login(value: Any) -> bool:
    """`is_login` is the string "false"/"true" in init and a JSON bool elsewhere."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def parse_qrcode(data: Any) -> QrCode:
    """The QR code of getQrCode/SecondaryValidation: key as `Key` (or its variants), ttl as `Ttl`."""
    data = data if isinstance(data, dict) else {}
    key = next((str(data[k]) for k in ("Key", "key", "qrcodeKey", "qrcode_key") if data.get(k)), "")
    ttl = _as_int(data.get("Ttl", data.get("ttl", 0)))
    url = str(data.get("qrcode") or data.get("qrCode") or data.get("QrCodeUrl") or "")
    b64 = str(data.get("qrcode_data") or "")
    image = f"data:{_image_type(b64)};base64,{b64}" if b64 and not url else url
    return QrCode(image=image or "", key=key, ttl=ttl, url=url, base64=b64)


def _image_type(b64: str) -> str:
    """The docs' sample `qrcode_data` is a JPEG ("/9j/"); PNG ("iVBOR") is told apart the same way."""
    return "image/png" if b64.startswith("iVBOR") else "image/jpeg"


def login_type(data: Any) -> int:
    """`loginType` of GetRunClientByUuid: 0 none, 1 initialised, 2 logged in."""
    return _as_int(data.get("loginType", 0)) if isinstance(data, dict) else 0


def is_logged_in(data: Any) -> bool:
    """Whether GetRunClientByUuid's data says the instance is logged in."""
    if not isinstance(data, dict):
        return False
    user_info = data.get("user_info") if isinstance(data.get("user_info"), dict) else {}
    return login_type(data) == 2 or parse_is_login(user_info.get("isLogin", False))


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def make_client(settings: Settings) -> UpstreamClient:
    return UpstreamClient(
        base_url=settings.base_url,
        connect_timeout=settings.upstream_connect_timeout,
        read_timeout=settings.upstream_read_timeout,
        ca_bundle=settings.upstream_ca_bundle,
    )


def get_client() -> UpstreamClient:
    """The app's shared client."""
    return current_app.extensions[EXTENSION_KEY]
