"""Which upstream action downloads the file of a received message, by its `msgtype` (upstream-api-more.md §2,
the vendor's 07-cdn and 21-callback-message pages).

Colleagues' image (14), file (15), voice (16) and video (23) go through `DownloadFile` with the `filetype` of
their kind (an image's is its `is_hd`); a big file (20, `*1*…` id) through `bigFileDownUrl`; WeChat users'
image, file and video (101-103) through `DownloadWeChatFile` with their `openim_cdn_authkey`; a GIF (104) is
fetched from its own `url`. Each payload keeps its sample's spelling: voice has `voice_id`/`voice_size`, the
WeChat file message spells the key `aeskey`.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

IMAGE, FILE, VOICE, VIDEO, BIG_FILE, GIF = "image", "file", "voice", "video", "big_file", "gif"
# DownloadFile's `filetype` (07-cdn, CDN下载文件): 1/2 image by is_hd, 4 video, 5 file or voice.
_FILETYPES = {VIDEO: 4, FILE: 5, VOICE: 5}
# DownloadFile and DownloadWeChatFile need a name even where the message has none.
_FALLBACK_NAMES = {IMAGE: "image.jpg", FILE: "file", VOICE: "voice.silk", VIDEO: "video.mp4", BIG_FILE: "file"}
_KINDS = {14: IMAGE, 15: FILE, 16: VOICE, 20: BIG_FILE, 23: VIDEO, 101: IMAGE, 102: FILE, 103: VIDEO, 104: GIF}
_FROM_WECHAT = {101, 102, 103}


@dataclass(frozen=True)
class MediaSource:
    """How to get one message's file: the client method and its arguments after the uuid, or a direct `url`."""

    msgtype: int
    kind: str
    file_name: str
    size: int
    method: str = ""
    args: tuple[Any, ...] = ()
    url: str = ""

    @property
    def content_type(self) -> str:
        """The type its name suggests (the download's own answer may say better)."""
        guessed, _ = mimetypes.guess_type(self.file_name)
        if guessed:
            return guessed
        return {VOICE: "audio/silk", VIDEO: "video/mp4", GIF: "image/gif"}.get(self.kind, "application/octet-stream")


class NotMedia(ValueError):
    """The message has no file to download (its kind has none, or the payload lacks what the action needs)."""


def media_source(payload: dict[str, Any]) -> MediaSource:
    """The way to download the file of a 102000 payload, or NotMedia."""
    msgtype = _as_int(payload.get("msgtype", payload.get("msgType")))
    kind = _KINDS.get(msgtype)
    if kind is None:
        raise NotMedia(f"messages of msgtype {msgtype} carry no file")
    if kind == GIF:
        url = str(payload.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise NotMedia("the emoticon has no url")
        return MediaSource(msgtype, kind, "emotion.gif", 0, url=url)
    voice = kind == VOICE
    file_id = str(payload.get("voice_id" if voice else "file_id") or "")
    size = _as_int(payload.get("voice_size" if voice else "file_size"))
    aes_key = str(payload.get("aes_key") or payload.get("aeskey") or "")
    name = str(payload.get("file_name") or "") or _FALLBACK_NAMES[kind]
    if not file_id or size <= 0:
        raise NotMedia("the message names no file")
    if msgtype in _FROM_WECHAT:
        auth_key = str(payload.get("openim_cdn_authkey") or "")
        if not auth_key:
            raise NotMedia("the message has no openim_cdn_authkey")
        args = (file_id, auth_key, aes_key, name, size)
        return MediaSource(msgtype, kind, name, size, "download_wechat_file", args)
    if kind == BIG_FILE:
        return MediaSource(msgtype, kind, name, size, "big_file_download", (file_id, name, size))
    # An image is fetched at the quality it came in: filetype 2 when its is_hd says 2, else 1.
    filetype = (2 if str(payload.get("is_hd")) == "2" else 1) if kind == IMAGE else _FILETYPES[kind]
    return MediaSource(msgtype, kind, name, size, "download_file", (file_id, aes_key, filetype, name, size))


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
