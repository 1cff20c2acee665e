"""The one client of the upstream "iPad protocol" HTTP service.

A single `requests.Session` (keep-alive pooling) shared by the views and the monitor job. Every call is
`POST {base_url}/wxwork/<Action>` with a JSON body, (connect, read) timeouts and a total deadline of their sum
(see `Deadlines`). Callers never see a raw `requests` exception: failures become one of the `UpstreamError`
subclasses below.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3 import PoolManager, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from wxwork_demo.config import Settings

EXTENSION_KEY = "wxwork_upstream"


class UpstreamError(Exception):
    """The upstream call did not succeed. `status` is the HTTP status our API answers with."""

    status = 502
    kind = "upstream_error"

    def __init__(self, action: str, message: str, *, raw: Any = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.message = message
        self.raw = raw
        self.http_status = http_status
        self.request: dict[str, Any] = {}
        self.url = ""

    @property
    def code(self) -> str:
        """The stable machine code of the error body (`upstream_unreachable`, `upstream_refused`, …)."""
        return f"upstream_{self.kind}" if self.kind != "upstream_error" else self.kind

    def called(self, url: str) -> None:
        """Name the URL that was called in the message (every entry point shows the same words: API, CLI, monitor)."""
        self.url = _without_credentials(url)
        if self.url not in self.message:
            self.message = f"{self.message} (POST {self.url})"
            self.args = (self.message,)

    def to_dict(self) -> dict[str, Any]:
        found = {"kind": self.kind, "action": self.action, "message": self.message, "httpStatus": self.http_status}
        return {**found, "url": self.url} if self.url else found


class UpstreamUnreachable(UpstreamError):
    kind = "unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    kind = "timeout"


class UpstreamHTTPError(UpstreamError):
    kind = "http_error"


class UpstreamNotJSON(UpstreamError):
    kind = "not_json"


class UpstreamBadData(UpstreamError):
    """A successful envelope whose `data` lacks what the action promises (a download link, say)."""

    kind = "bad_data"


class UpstreamRefused(UpstreamError):
    """HTTP 200 with errcode != 0 (or, where the action answers without `errcode`, errorcode != 0): the
    upstream understood and said no."""

    kind = "refused"

    def __init__(self, action: str, errcode: int, errmsg: str, raw: dict[str, Any]) -> None:
        super().__init__(action, f"upstream {action} refused: errcode {errcode}, {errmsg}", raw=raw, http_status=200)
        self.errcode = errcode
        self.errmsg = errmsg

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "errcode": self.errcode, "errmsg": self.errmsg}


@dataclass
class Reply:
    """A successful upstream answer with what was sent, for the events log."""

    action: str
    request: dict[str, Any]
    envelope: dict[str, Any]
    elapsed_ms: float

    @property
    def data(self) -> Any:
        return self.envelope.get("data")


class MediaTooLarge(UpstreamError):
    """A file the upstream links to is larger than we agreed to keep: 413, since nothing failed upstream (the
    file is there, MEDIA_MAX_BYTES says not to take it) and asking again will not help."""

    status = 413
    kind = "too_large"


@dataclass(frozen=True)
class Download:
    size: int
    content_type: str


@dataclass(frozen=True)
class Upload:
    """A local file for the multipart CDN uploads (`CdnUploadImg`, `CdnUploadFile`)."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"

    def as_field(self) -> tuple[str, bytes, str]:
        return (self.filename, self.content, self.content_type)

    def describe(self) -> dict[str, Any]:
        """What the events log keeps of the file: never its bytes."""
        return {"filename": self.filename, "size": len(self.content), "contentType": self.content_type}


@dataclass
class QrCode:
    image: str
    key: str
    ttl: int
    url: str = ""
    base64: str = ""


class Call:
    """One upstream call in flight: its deadline, and the connection it is using (attached by that connection)."""

    __slots__ = ("connection", "deadline", "done", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection: _Watched | None = None
        self.done = False
        self.expired = False


class Deadlines:
    """Ends every call that outlives its deadline.

    A read timeout bounds each wait for a byte, not the call: an upstream dripping one byte per second holds a
    call as long as it likes. One thread per process keeps the deadlines of the calls in flight and shuts the
    socket of a call past its own, so the read blocked on it returns at once (plain and TLS alike). A connection
    is shut only while it still serves that call: one already handed back to the pool belongs to nobody.
    """

    # A call past its deadline that has no socket yet (still connecting) is looked at again this much later.
    RECHECK_S = 0.05

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Call]] = []
        self._order = itertools.count()
        self._pid = 0
        self._local = threading.local()

    def start(self, seconds: float) -> Call:
        """Watch a call made by this thread from now on, for at most `seconds`."""
        call = Call(time.monotonic() + seconds)
        with self._cond:
            if self._pid != os.getpid():  # first call in this process: gunicorn forks after import
                self._pid, self._heap = os.getpid(), []
                threading.Thread(target=self._run, name="upstream-deadlines", daemon=True).start()
            heapq.heappush(self._heap, (call.deadline, next(self._order), call))
            if self._heap[0][2] is call:
                self._cond.notify()
        self._local.call = call
        return call

    def finish(self, call: Call) -> None:
        with self._cond:
            call.done = True
        self._local.call = None

    def attach(self, connection: _Watched) -> None:
        """The connection is about to send this thread's call (called by the connection itself)."""
        call = getattr(self._local, "call", None)
        connection.watched_call = call
        if call is not None:
            call.connection = connection

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, call = heapq.heappop(self._heap)
                call.expired = True
                connection = call.connection
                # The socket as connected: http.client lets go of `sock` while the body of a
                # "Connection: close" answer is still being read from it.
                sock = connection.watched_sock if connection is not None else None
                if connection is None or sock is None:  # not connected yet: look again shortly
                    heapq.heappush(self._heap, (time.monotonic() + self.RECHECK_S, next(self._order), call))
                    continue
                if connection.watched_call is not call:
                    continue  # back in the pool, or serving another call
                # The base socket's shutdown, also for TLS: the blocked read sees end-of-stream and returns.
                with contextlib.suppress(OSError):  # already closed
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


DEADLINES = Deadlines()


class _Watched(HTTPConnection):
    """urllib3's connection (plain, or TLS below): which call each one serves, and the socket it connected."""

    watched_call: Call | None = None
    watched_sock: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.watched_sock = self.sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        DEADLINES.attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections that report to `DEADLINES` which call they serve."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # an HTTP(S) proxy; a SOCKS manager keeps its own pools
            manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager


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
        adapter = _DeadlineAdapter(pool_connections=4, pool_maxsize=self.pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def post(self, action: str, body: dict[str, Any], upload: Upload | None = None) -> Reply:
        """POST `body` to `/wxwork/<action>` and return the envelope, or raise an `UpstreamError`.

        With `upload`, the body goes as multipart form fields next to the file (the CDN upload actions).
        """
        try:
            return self._post(action, body, upload)
        except UpstreamError as exc:
            exc.request = body if upload is None else {**body, "file": upload.describe()}
            exc.called(f"{self.base_url}/wxwork/{action}")
            raise

    @property
    def deadline_s(self) -> float:
        """The longest a call may take in all, however slowly the upstream answers."""
        return self.connect_timeout + self.read_timeout

    def _past_deadline(self, action: str) -> UpstreamTimeout:
        return UpstreamTimeout(action, f"upstream {action} did not answer in full within {self.deadline_s:g} s")

    def _post(self, action: str, body: dict[str, Any], upload: Upload | None = None) -> Reply:
        url = f"{self.base_url}/wxwork/{action}"
        timeout = (self.connect_timeout, self.read_timeout)
        started = time.perf_counter()
        call = DEADLINES.start(self.deadline_s)
        try:
            if upload is None:
                response = self.http.post(url, json=body, timeout=timeout)
            else:
                response = self.http.post(url, data=body, files={"file": upload.as_field()}, timeout=timeout)
        except requests.Timeout as exc:
            raise UpstreamTimeout(action, f"upstream {action} timed out: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            if call.expired:
                raise self._past_deadline(action) from None
            raise _unreachable(action, self.base_url, exc) from None
        finally:
            DEADLINES.finish(call)
        if call.expired:  # cut mid-headers, http.client takes what it got for a complete (empty) answer
            raise self._past_deadline(action)
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
        errcode = failure_code(envelope)
        if errcode is not None:
            raise UpstreamRefused(action, errcode, str(envelope.get("errmsg", "")), envelope)
        request = body if upload is None else {**body, "file": upload.describe()}
        return Reply(action=action, request=request, envelope=envelope, elapsed_ms=elapsed_ms)

    # The endpoints, named after what they do; bodies exactly as upstream-api.md §2 documents them.

    def init(self, fields: dict[str, Any]) -> Reply:
        return self.post("init", fields)

    def sync_all_data(self, uuid: str, seq: int, limit: int = 1000) -> Reply:
        """Catch-up: the upstream pushes the messages after `seq` again as callbacks (`issync: true`)."""
        return self.post("SyncAllData", {"uuid": uuid, "limit": limit, "seq": seq})

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

    def set_proxy(self, uuid: str, proxy: dict[str, Any]) -> Reply:
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

    # Sending more than text (upstream-api-more.md §1). Ids may come as decimal strings (room ids exceed 2^53,
    # so the web layer keeps them as text); the upstream documents them as longs, and gets ints.

    def send_text_at(self, uuid: str, room_id: int | str, at_ids: list[int | str], content: str) -> Reply:
        """SendTextAtMsg: text in a room that @mentions `at_ids` (room members' user ids)."""
        body = {
            "uuid": uuid,
            "send_userid": as_id(room_id),
            "atids": [as_id(user_id) for user_id in at_ids],
            "content": content,
            "isRoom": True,
        }
        return self.post("SendTextAtMsg", body)

    def send_text_segments(self, uuid: str, room_id: int | str, segments: list[dict[str, Any]]) -> Reply:
        """SendTextAtMsgTwo: text made of segments (see `at_segments`); `{"msgtype": 5, "vid": 0}` is @all."""
        body = {"uuid": uuid, "send_userid": as_id(room_id), "contentva": segments, "isRoom": True}
        return self.post("SendTextAtMsgTwo", body)

    def upload_image_link(self, uuid: str, url: str) -> Reply:
        """CdnUploadImgLink, step 1 of an image: the upstream fetches `url` and answers its CDN fields."""
        return self.post("CdnUploadImgLink", {"uuid": uuid, "url": url})

    def upload_image(self, uuid: str, image: Upload) -> Reply:
        """CdnUploadImg: step 1 of an image from a local file (multipart `file`, `uuid`)."""
        return self.post("CdnUploadImg", {"uuid": uuid}, upload=image)

    def send_cdn_image(
        self, uuid: str, send_userid: int | str, is_room: bool, uploaded: dict[str, Any], kf_id: int = 0
    ) -> Reply:
        """SendCDNImgMsg, step 2 of an image: the fields of the upload's answer, carried over as they came."""
        body = {
            "uuid": uuid,
            "send_userid": as_id(send_userid),
            "kf_id": kf_id,
            "isRoom": is_room,
            "cdnkey": cdn_key(uploaded),
            "aeskey": uploaded.get("aes_key"),
            "md5": uploaded.get("md5"),
            "fileSize": uploaded.get("size"),
            "width": uploaded.get("width"),
            "height": uploaded.get("height"),
            "thumb_image_height": uploaded.get("thumb_image_height"),
            "thumb_image_width": uploaded.get("thumb_image_width"),
            "thumb_file_size": uploaded.get("thumb_file_size"),
            "thumb_file_md5": uploaded.get("thumb_file_md5"),
        }
        return self.post("SendCDNImgMsg", body)

    def upload_file_link(self, uuid: str, url: str, filename: str) -> Reply:
        """UploadCdnLinkFile, step 1 of a file: the upstream fetches `url`."""
        return self.post("UploadCdnLinkFile", {"uuid": uuid, "url": url, "filename": filename})

    def upload_file(self, uuid: str, file: Upload) -> Reply:
        """CdnUploadFile: step 1 of a file from a local file (multipart `file`, `uuid`)."""
        return self.post("CdnUploadFile", {"uuid": uuid}, upload=file)

    def send_cdn_file(
        self, uuid: str, send_userid: int | str, is_room: bool, uploaded: dict[str, Any], file_name: str
    ) -> Reply:
        """SendCDNFileMsg, step 2 of a file: the upload's key, aes key, md5 and size, and the name to show."""
        body = {
            "uuid": uuid,
            "send_userid": as_id(send_userid),
            "cdnkey": cdn_key(uploaded),
            "aeskey": uploaded.get("aes_key"),
            "md5": uploaded.get("md5"),
            "file_name": file_name,
            "fileSize": uploaded.get("size"),
            "isRoom": is_room,
        }
        return self.post("SendCDNFileMsg", body)

    def revoke(self, uuid: str, msg_id: int | str, room_id: int | str = 0) -> Reply:
        """RevokeMsg: take back a message this account sent (`msg_id` of its echo; `room_id` 0 outside rooms)."""
        return self.post("RevokeMsg", {"uuid": uuid, "msgid": as_id(msg_id), "roomid": as_id(room_id or 0)})

    # Received media (upstream-api-more.md §2): each action answers a link on the upstream's host.

    def download_file(self, uuid: str, file_id: str, aes_key: str, file_type: int, file_name: str, size: int) -> Reply:
        """DownloadFile: media from colleagues (msgtype 14, 15, 16, 23); `file_type` as `download_file_type`."""
        body = {
            "uuid": uuid,
            "fileid": file_id,
            "aes_key": aes_key,
            "filetype": file_type,
            "file_name": file_name,
            "size": size,
        }
        return self.post("DownloadFile", body)

    def download_wechat_file(
        self, uuid: str, file_id: str, auth_key: str, aes_key: str, file_name: str, size: int
    ) -> Reply:
        """DownloadWeChatFile: media from WeChat users (msgtype 101-103). It answers `errorcode`, no `errcode`."""
        body = {
            "uuid": uuid,
            "url": file_id,
            "auth_key": auth_key,
            "aes_key": aes_key,
            "file_name": file_name,
            "size": size,
        }
        return self.post("DownloadWeChatFile", body)

    def big_file_download(self, uuid: str, file_id: str, file_name: str, size: int) -> Reply:
        """bigFileDownUrl: a big file (msgtype 20, `file_id` "*1*…"); answers `{url, md5}` (07-cdn, 大文件下载)."""
        return self.post("bigFileDownUrl", {"uuid": uuid, "fileid": file_id, "file_name": file_name, "size": size})

    # Rooms (upstream-api-more.md §3).

    def session_rooms(self, uuid: str, limit: int = 10, star_index: int = 0) -> Reply:
        """GetSessionRoomList: one page of the rooms the account is in (`star_index` is the API's spelling)."""
        return self.post("GetSessionRoomList", {"uuid": uuid, "limit": limit, "star_index": star_index})

    def all_session_rooms(self, uuid: str, page_size: int = 10, max_pages: int = 1000) -> list[dict[str, Any]]:
        """Every room, paged with `star_index` (an offset) until a page comes back empty."""
        rooms: list[dict[str, Any]] = []
        seen: set[Any] = set()
        for _ in range(max_pages):
            data = self.session_rooms(uuid, page_size, len(rooms)).data
            page = data.get("room_list") if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise UpstreamBadData("GetSessionRoomList", "upstream GetSessionRoomList answered no room_list")
            fresh = [room for room in page if isinstance(room, dict) and room.get("room_id") not in seen]
            if not fresh:  # the end, or an upstream serving the same page again: stop either way
                return rooms
            seen.update(room.get("room_id") for room in fresh)
            rooms += fresh
        return rooms

    def room_members(self, uuid: str, room_id: int | str) -> Reply:
        """GetRoomUserList: one room with its `member_list`."""
        return self.post("GetRoomUserList", {"uuid": uuid, "roomid": as_id(room_id)})

    # Friends (upstream-api-more.md §4).

    def apply_users(self, uuid: str, limit: int = 100, seq: int = 0) -> Reply:
        """GetApplyUserList: friend requests after `seq` (`item_flag` 3 marks a deleted one)."""
        return self.post("GetApplyUserList", {"uuid": uuid, "limit": limit, "seq": seq})

    def agree_user(self, uuid: str, vid: int | str, corp_id: int = 0) -> Reply:
        """AgreeUser: accept the friend request of `vid` (the applicant's user_id from callback 116001)."""
        return self.post("AgreeUser", {"uuid": uuid, "corpid": corp_id, "vid": as_id(vid)})

    def set_friend_verification(self, uuid: str, required: bool) -> Reply:
        """AutomaticConsent: `state` 1 waits for a person to accept each request, 0 accepts them all."""
        return self.post("AutomaticConsent", {"uuid": uuid, "state": 1 if required else 0})

    def users_by_ids(self, uuid: str, vids: list[int | str]) -> Reply:
        """GetUserInfoByVids: profiles (names, avatars) of user ids."""
        return self.post("GetUserInfoByVids", {"uuid": uuid, "vids": [as_id(vid) for vid in vids]})

    def download_to(self, url: str, target: BinaryIO, max_bytes: int, deadline_s: float = 120.0) -> Download:
        """GET a file the upstream links to (received media) into `target`, at most `max_bytes`, within
        `deadline_s` in all; raise an `UpstreamError` otherwise (`MediaTooLarge` past the cap).

        What was written before a failure stays in `target`: the caller discards it.
        """
        call = DEADLINES.start(deadline_s)
        written = 0
        try:
            with self.http.get(url, timeout=(self.connect_timeout, self.read_timeout), stream=True) as response:
                if response.status_code != 200:
                    raise UpstreamHTTPError(
                        "download",
                        f"download of {url} answered HTTP {response.status_code}",
                        http_status=response.status_code,
                    )
                declared = _as_int(response.headers.get("Content-Length", -1))
                if declared > max_bytes:
                    raise MediaTooLarge("download", f"download of {url} is {declared} bytes, over {max_bytes}")
                for chunk in response.iter_content(64 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise MediaTooLarge("download", f"download of {url} is over {max_bytes} bytes")
                    target.write(chunk)
                content_type = response.headers.get("Content-Type", "")
        except requests.RequestException as exc:
            if call.expired:
                raise UpstreamTimeout("download", f"download of {url} took over {deadline_s:g} s") from None
            if isinstance(exc, requests.Timeout):
                raise UpstreamTimeout("download", f"download of {url} timed out") from None
            raise UpstreamUnreachable("download", f"download of {url} failed: {_short(exc)}") from None
        finally:
            DEADLINES.finish(call)
        if call.expired:
            raise UpstreamTimeout("download", f"download of {url} took over {deadline_s:g} s")
        return Download(size=written, content_type=content_type.split(";")[0].strip())

    def media_url(self, reply: Reply) -> str:
        """The link a download action answered, reachable from here.

        The docs' samples link the upstream's own loopback (`http://127.0.0.1:8060/Video/…`): from another
        host that is us, so a loopback host becomes the upstream's host (the port is kept).
        """
        link = media_link(reply)
        parts = urlsplit(link)
        upstream_host = urlsplit(self.base_url).hostname or ""
        if _is_loopback(parts.hostname or "") and not _is_loopback(upstream_host):
            port = f":{parts.port}" if parts.port else ""
            host = f"[{upstream_host}]" if ":" in upstream_host else upstream_host
            link = urlunsplit(parts._replace(netloc=f"{host}{port}"))
        return link

    def simulator_page(self) -> str:
        """The control page of the bundled simulator when it is the upstream ("" otherwise, or when it does not
        answer at once): the console links its QR code there, where a developer "scans" it."""
        try:
            response = self.http.get(f"{self.base_url}/_sim/state", params={"limit": 1}, timeout=(1, 2))
            found = response.status_code == 200 and "instances" in response.json()
        except (requests.RequestException, ValueError):
            return ""
        return f"{self.base_url}/_sim/" if found else ""

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


def init_request(fields: dict[str, Any]) -> dict[str, Any]:
    """The init body: all eight documented fields, empty when not given (upstream-api.md §2.1)."""
    body = {name: fields.get(name, "") for name in INIT_FIELDS}
    body["proxySituation"] = fields.get("proxySituation", 0)
    body["deverType"] = fields.get("deverType") or "ipad"
    return body


# Readers for the documented quirks of the upstream's answers.


def failure_code(envelope: dict[str, Any]) -> int | None:
    """The error code of a failed answer, or None for success.

    Most actions answer `errcode`; a few (DownloadWeChatFile, InitCdn) answer only `errorcode`, and CheckCode
    both. A non-zero value in either is a failure: reading a missing `errcode` as success would miss the
    failures those actions report.
    """
    for name in ("errcode", "errorcode"):
        value = envelope.get(name)
        if value not in (0, None, "0"):
            return _as_int(value)
    return None


def as_id(value: int | str) -> int:
    """A 64-bit id for an upstream body: ints stay, decimal strings become ints (never through a float)."""
    if isinstance(value, bool):
        raise ValueError("an id cannot be a bool")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError(f"not a numeric id: {value!r}")
    return int(text)


def id_text(value: Any) -> str:
    """An upstream id as a decimal string ("" for none or 0): ids beyond 2^53 must never be JSON numbers."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):  # never produced by our JSON reading; kept exact where it is an integer
        value = int(value)
    text = str(value).strip()
    return "" if text in ("", "0") else text[:64]


def cdn_key(uploaded: dict[str, Any]) -> Any:
    """The key a send step needs from an upload's answer: `cdn_key`, or `fileid` where the upload answers
    none (CdnUploadFile's sample has only `fileid`, and both are the same value where both are given)."""
    return uploaded.get("cdn_key") or uploaded.get("fileid")


def at_segments(content: str, at_ids: list[int | str], at_all: bool = False) -> list[dict[str, Any]]:
    """The `contentva` of SendTextAtMsgTwo: the text, then one @ per user id, then @all (`vid` 0)."""
    segments: list[dict[str, Any]] = [{"msgtype": 0, "content": content}] if content else []
    segments += [{"msgtype": 5, "vid": as_id(user_id)} for user_id in at_ids]
    if at_all:
        segments.append({"msgtype": 5, "vid": 0})
    return segments


def media_link(reply: Reply) -> str:
    """The http(s) link a download action answers: `data` itself (DownloadFile, DownloadWeChatFile) or
    `data.url` (bigFileDownUrl)."""
    data = reply.data
    link = data.get("url") if isinstance(data, dict) else data
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        raise UpstreamBadData(reply.action, f"upstream {reply.action} answered no download link", raw=reply.envelope)
    return link


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
    user_info = data.get("user_info")
    if not isinstance(user_info, dict):
        user_info = {}
    return login_type(data) == 2 or parse_is_login(user_info.get("isLogin", False))


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unreachable(action: str, base_url: str, exc: requests.RequestException) -> UpstreamUnreachable:
    if isinstance(exc, requests.ConnectionError):
        where = _without_credentials(base_url)
        return UpstreamUnreachable(action, f"upstream {action} unreachable at {where}: {_short(exc)}")
    return UpstreamUnreachable(action, f"upstream {action} failed: {_short(exc)}")


def _without_credentials(url: str) -> str:
    """`url` without a user:password@ part (BASE_URL may carry one for a proxy in front of the upstream)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


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
    found = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(found, UpstreamClient):
        raise RuntimeError("this Flask app has no upstream client: build it with wxwork_demo.create_app")
    return found
