"""The upstream's CDN: files uploaded for sending, media received in messages, and the links that serve them.

Shapes follow the vendor's 07-cdn pages (CdnUploadImgLink, CdnUploadImg, UploadCdnLinkFile, CdnUploadFile,
DownloadFile, DownloadWeChatFile, bigFileDownUrl) and the media callbacks of 21-callback-message. Every file
is real bytes: an uploaded image is decoded (width, height) and given a real thumbnail, a received image is a
small real PNG, and a download link serves exactly the bytes whose size and md5 the callback announced.

Keys look like the samples: corp files carry a hex `fileid` that embeds the md5 (the samples do), files from
WeChat users an `imunion.weixin.qq.com` URL with its `openim_cdn_authkey`, big files a `*1*…` id.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import secrets
import threading
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import requests
from PIL import Image, UnidentifiedImageError

# Kinds of file, and the DownloadFile `filetype` of each (07-cdn, CDN下载文件): 1/2 image (its is_hd), 3 the
# thumbnail of an image or video, 4 video, 5 file or voice.
IMAGE, FILE, VOICE, VIDEO, BIG_FILE = "image", "file", "voice", "video", "big_file"
FILETYPE_THUMB = 3
FILETYPES = {VIDEO: 4, FILE: 5, VOICE: 5}
# Where a download link lives on the upstream's file host, by kind (the samples: /Img/…, /Video/…, /File/…).
LINK_FOLDERS = {IMAGE: "Img", FILE: "File", VOICE: "Voice", VIDEO: "Video", BIG_FILE: "File"}
CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".silk": "audio/silk",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
}
THUMB_MAX = (384, 512)  # the thumbnail size in the samples
_LINKS_KEPT = 10_000


class CdnRefusal(Exception):
    """A CDN request the upstream refuses; `name` is the simulator's error (errors.py)."""

    def __init__(self, name: str, **fields: Any) -> None:
        super().__init__(name)
        self.name = name
        self.fields = fields


@dataclass
class Blob:
    """One file on the CDN."""

    file_id: str
    kind: str
    data: bytes = field(repr=False)
    file_name: str
    aes_key: str
    # Set for files from WeChat users (DownloadWeChatFile needs it).
    auth_key: str | None = None
    width: int = 0
    height: int = 0
    thumb: Blob | None = None
    mid_size: int = 0
    is_hd: int = 1
    created: float = field(default_factory=time.time)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()

    @property
    def wechat(self) -> bool:
        return self.auth_key is not None


class CdnStore:
    """Files by id, and download links by token; the oldest go once `keep_bytes` is exceeded."""

    def __init__(self, seed: int, keep_bytes: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"cdn:{seed}")
        self.keep_bytes = keep_bytes
        self._blobs: OrderedDict[str, Blob] = OrderedDict()
        self._links: OrderedDict[str, tuple[Blob, str]] = OrderedDict()
        self._bytes = 0

    # ----- keeping files ----------------------------------------------------------------------------

    def add(self, data: bytes, kind: str, file_name: str, *, wechat: bool = False, thumb: bytes | None = None) -> Blob:
        """Keep `data` as a new file and return it (with its thumbnail, for images and videos)."""
        with self._lock:
            aes_key = self._hex(32)
            if kind == BIG_FILE:
                file_id = "*1*" + base64.b64encode(self._rng.randbytes(180)).decode()
            elif wechat:
                file_id = f"https://imunion.weixin.qq.com/cgi-bin/mmae-bin/tpdownloadmedia?param=v1_{self._hex(160)}"
            else:
                file_id = self._corp_file_id(hashlib.md5(data, usedforsecurity=False).hexdigest())
            auth_key = f"v1_{self._hex(64)}" if wechat else None
        blob = Blob(file_id=file_id, kind=kind, data=data, file_name=file_name, aes_key=aes_key, auth_key=auth_key)
        if kind == IMAGE:
            with Image.open(io.BytesIO(data)) as image:
                blob.width, blob.height = image.size
            blob.mid_size = len(_scaled_jpeg(data, 0.5))
            thumb = thumb if thumb is not None else _thumbnail(data)
        if thumb is not None:
            # A thumbnail is fetched with the same fileid and aes key (filetype 3) and its own size.
            blob.thumb = Blob(file_id=file_id, kind=IMAGE, data=thumb, file_name="thumb.jpg", aes_key=aes_key)
            with Image.open(io.BytesIO(thumb)) as image:
                blob.thumb.width, blob.thumb.height = image.size
        with self._lock:
            self._blobs[file_id] = blob
            self._bytes += blob.size + (blob.thumb.size if blob.thumb else 0)
            while self._bytes > self.keep_bytes and len(self._blobs) > 1:
                _, old = self._blobs.popitem(last=False)
                self._bytes -= old.size + (old.thumb.size if old.thumb else 0)
        return blob

    def get(self, file_id: Any) -> Blob | None:
        with self._lock:
            return self._blobs.get(str(file_id or ""))

    def clear(self) -> None:
        with self._lock:
            self._blobs.clear()
            self._links.clear()
            self._bytes = 0

    # ----- uploads ----------------------------------------------------------------------------------

    def upload_image(self, data: bytes, file_name: str) -> Blob:
        """An image to send: it must decode as one (CdnUploadImgLink and CdnUploadImg refuse anything else)."""
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise CdnRefusal("not_an_image") from None
        return self.add(data, IMAGE, file_name)

    def upload_file(self, data: bytes, file_name: str) -> Blob:
        if not data:
            raise CdnRefusal("upload_failed", reason="empty file")
        return self.add(data, FILE, file_name)

    # ----- download links ---------------------------------------------------------------------------

    def link(self, blob: Blob, public_url: str, file_name: str | None = None) -> str:
        """A link on the upstream's file host serving `blob` (the samples: http://…:8060/Video/测试.mp4), named
        after the `file_name` the download asked for."""
        token = secrets.token_hex(16)
        extension = _extension(file_name or blob.file_name) or (".jpg" if blob.kind == IMAGE else "")
        with self._lock:
            self._links[token] = (blob, _content_type(extension, blob.data))
            while len(self._links) > _LINKS_KEPT:
                self._links.popitem(last=False)
        day = time.strftime("%Y%m%d")
        return f"{public_url}/download/{LINK_FOLDERS[blob.kind]}/{day}/{token}{extension}"

    def served(self, name: str) -> tuple[bytes, str] | None:
        """(bytes, content type) behind a link's last path segment, while its file is kept."""
        token = name.split(".", 1)[0]
        with self._lock:
            entry = self._links.get(token)
            if entry is None:
                return None
            blob, content_type = entry
            kept = self._blobs.get(blob.file_id)
            if kept is None or (kept is not blob and kept.thumb is not blob):
                return None
        return blob.data, content_type

    def _corp_file_id(self, md5: str) -> str:
        # The samples' fileid: "3069020102046230600201000204…0410<md5>0201050201000400".
        return f"30690201020462306002010002040{self._hex(48)}0410{md5}0201050201000400"

    def _hex(self, length: int) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(length))


def fetch(url: str, max_bytes: int, timeout: float) -> tuple[bytes, str]:
    """GET `url` as the upstream does for the *Link uploads: (bytes, file name from the URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CdnRefusal("upload_failed", reason="url must be http(s)")
    try:
        with requests.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise CdnRefusal("upload_failed", reason=f"HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise CdnRefusal("upload_too_large", limit=max_bytes)
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise CdnRefusal("upload_failed", reason=type(exc).__name__) from None
    name = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1]) or "file"
    return b"".join(chunks), name


# ----- real bytes for received media -------------------------------------------------------------------


def sample_png(rng: random.Random, width: int = 96, height: int = 64) -> bytes:
    """A small real PNG: a two-colour gradient, different per message."""
    start = [rng.randrange(256) for _ in range(3)]
    end = [rng.randrange(256) for _ in range(3)]
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    assert pixels is not None
    for x in range(width):
        colour = tuple(s + (e - s) * x // max(1, width - 1) for s, e in zip(start, end, strict=True))
        for y in range(height):
            pixels[x, y] = colour
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sample_gif(rng: random.Random) -> bytes:
    """A small real GIF (the emoticon of msgtype 104)."""
    image = Image.open(io.BytesIO(sample_png(rng, 48, 48)))
    buffer = io.BytesIO()
    image.convert("P").save(buffer, format="GIF")
    return buffer.getvalue()


def sample_file(rng: random.Random, file_name: str) -> bytes:
    """Bytes for a received file: text for .txt, else a few KB that start like the named type."""
    extension = _extension(file_name)
    if extension == ".txt":
        return ("会议纪要\n" + "\n".join(f"第{n}条：{rng.random():.6f}" for n in range(1, 40))).encode()
    head = b"%PDF-1.4\n" if extension == ".pdf" else b"PK\x03\x04" if extension in (".zip", ".docx", ".xlsx") else b""
    return head + rng.randbytes(4096 + rng.randrange(4096))


def sample_voice(rng: random.Random) -> bytes:
    """A voice message as WeCom keeps it: SILK v3."""
    return b"\x02#!SILK_V3" + rng.randbytes(3000 + rng.randrange(3000))


def sample_video(rng: random.Random) -> bytes:
    """Bytes that start like an MP4 (an `ftyp` box), then noise."""
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + rng.randbytes(20_000 + rng.randrange(10_000))


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB")
        small.thumbnail(THUMB_MAX)
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _scaled_jpeg(data: bytes, factor: float) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        size = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
        buffer = io.BytesIO()
        image.convert("RGB").resize(size).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _extension(file_name: str) -> str:
    name = file_name.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""


def _content_type(extension: str, data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"GIF8"):
        return "image/gif"
    return CONTENT_TYPES.get(extension, "application/octet-stream")
