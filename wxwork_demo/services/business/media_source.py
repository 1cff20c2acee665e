"""What an image or a file to send comes from, checked before anything goes upstream.

A URL must be http(s), answer 200 within MEDIA_FETCH_TIMEOUT_S, be at most MEDIA_MAX_BYTES, and for an image
start like one (PNG, JPEG, GIF, WebP, BMP: its first bytes, not its Content-Type, which servers get wrong).
It is read here, to its end unless it declares a length over KEEP_ALIVE_BYTES (then only its first bytes), and
again by the upstream (CdnUploadImgLink / UploadCdnLinkFile fetch it themselves): the second read is the
upstream's, the first is the only way to answer a bad link with a 400 naming `url` instead of the upstream's
vague refusal after a slot was spent. An upload (multipart `file`) is checked the same way, in memory.

Links are fetched from this host, so by default only from public addresses (public_links.py checks every
connection, redirects included): a link to this host's loopback, its LAN or a cloud's metadata service is a 400
naming `url` before anything is fetched. MEDIA_URL_ALLOW_PRIVATE=1 lets such links through, for files kept on a
LAN server; the upstream fetches the link again from its own host either way.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests

from wxwork_demo.errors import BadInput
from wxwork_demo.services.business.public_links import NotPublicAddress, guarded_session
from wxwork_demo.upstream import Upload

IMAGE, FILE = "image", "file"
SNIFF_BYTES = 64
CHUNK = 64 * 1024
# A body declared this small is read to its end although its first bytes are all the check needs: its connection
# then stays open for the next link to the same host, which costs less than a new one (and than the host's
# broken pipe). A larger one is left after its first bytes.
KEEP_ALIVE_BYTES = 256 * 1024
MAX_REDIRECTS = 5
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


@dataclass(frozen=True)
class Checked:
    """What the check learnt: the size when known (a declared or counted length), the type, a file name."""

    size: int | None
    content_type: str
    file_name: str


def image_type(head: bytes) -> str:
    """The image type `head` starts like, or "" when it is no image we can send."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for signature, kind in _SIGNATURES if head.startswith(signature)), "")


def check_upload(upload: Upload, kind: str, max_bytes: int) -> Checked:
    """A multipart `file`: not empty, at most `max_bytes`, and an image when `kind` is one; else a 400."""
    if not upload.content:
        raise BadInput("file", "file is empty: nothing was sent")
    if len(upload.content) > max_bytes:
        raise BadInput("file", f"file is over MEDIA_MAX_BYTES ({max_bytes} bytes): nothing was sent")
    content_type = upload.content_type
    if kind == IMAGE:
        content_type = image_type(upload.content[:SNIFF_BYTES])
        if not content_type:
            raise BadInput("file", "file is not an image (PNG, JPEG, GIF, WebP or BMP): nothing was sent")
    return Checked(size=len(upload.content), content_type=content_type, file_name=upload.filename)


def check_url(url: str, kind: str, max_bytes: int, timeout_s: float, allow_private: bool = False) -> Checked:
    """GET `url` as the upstream will, or a 400 naming `url` that says why it cannot be sent (among the reasons,
    a host that is not a public address, unless `allow_private`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput("url", "url must be an http(s) URL with a host: nothing was sent")
    deadline = time.monotonic() + timeout_s
    try:
        with _http(allow_private).get(url, timeout=(min(5.0, timeout_s), timeout_s), stream=True) as response:
            return _read(response, url, kind, max_bytes, deadline, timeout_s)
    except NotPublicAddress as exc:
        where = exc.host if exc.host == str(exc.address) else f"{exc.host} ({exc.address})"
        raise BadInput(
            "url",
            f"url leads to {where}, not a public address (this host's loopback, a private network or link-local): "
            "nothing was sent. Set MEDIA_URL_ALLOW_PRIVATE=1 to send files from such hosts",
        ) from None
    except requests.RequestException as exc:
        reason = "did not answer in time" if isinstance(exc, requests.Timeout) else f"cannot be fetched: {_short(exc)}"
        raise BadInput("url", f"url {reason}: nothing was sent") from None


def _read(
    response: requests.Response, url: str, kind: str, max_bytes: int, deadline: float, timeout_s: float
) -> Checked:
    if response.status_code != 200:
        raise BadInput("url", f"url answered HTTP {response.status_code}: nothing was sent")
    declared = _length(response.headers.get("Content-Length"))
    if declared is not None and declared > max_bytes:
        raise BadInput("url", f"url is {declared} bytes, over MEDIA_MAX_BYTES ({max_bytes}): nothing was sent")
    head, size = _first_bytes(response, declared, max_bytes, deadline, timeout_s)
    if size == 0:
        raise BadInput("url", "url answered an empty body: nothing was sent")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if kind == IMAGE:
        content_type = image_type(head)
        if not content_type:
            raise BadInput("url", "url is not an image (PNG, JPEG, GIF, WebP or BMP): nothing was sent")
    name = unquote(urlsplit(response.url or url).path.rsplit("/", 1)[-1]).strip()
    return Checked(size=declared if declared is not None else size, content_type=content_type, file_name=name)


def _first_bytes(
    response: requests.Response, declared: int | None, max_bytes: int, deadline: float, timeout_s: float
) -> tuple[bytes, int]:
    """The body's first SNIFF_BYTES and the bytes read: all of it unless its declared length is over
    KEEP_ALIVE_BYTES (within MEDIA_MAX_BYTES, then the first bytes are all the check reads)."""
    whole = declared is None or declared <= KEEP_ALIVE_BYTES
    head, size = b"", 0
    for chunk in response.iter_content(CHUNK if whole else SNIFF_BYTES):
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        size += len(chunk)
        if size > max_bytes:
            raise BadInput("url", f"url is over MEDIA_MAX_BYTES ({max_bytes} bytes): nothing was sent")
        if time.monotonic() > deadline:
            raise BadInput(
                "url", f"url did not arrive within MEDIA_FETCH_TIMEOUT_S ({timeout_s:g} s): nothing was sent"
            )
        if not whole and len(head) >= SNIFF_BYTES:
            break  # its length is declared and within bounds: the first bytes are all the check needs
    return head, size


def _length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:160] + "…"


_local = threading.local()


def _http(allow_private: bool) -> requests.Session:
    """One session per kind, thread and process (keep-alive to image hosts; gunicorn forks after import)."""
    sessions: dict[bool, requests.Session] | None = getattr(_local, "sessions", None)
    if sessions is None or _local.pid != os.getpid():
        sessions = _local.sessions = {}
        _local.pid = os.getpid()
    session = sessions.get(allow_private)
    if session is None:
        session = requests.Session() if allow_private else guarded_session()
        # No proxy: a proxy would make the connection, past the address check (and the upstream client does
        # not read proxy variables per call either).
        session.trust_env = False
        session.max_redirects = MAX_REDIRECTS
        sessions[allow_private] = session
    return session
