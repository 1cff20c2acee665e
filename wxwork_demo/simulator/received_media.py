"""Media messages an account receives (callback 102000), shaped like the samples of 21-callback-message.

Each kind keeps its sample's quirks, because a client has to: colleagues' files (14 image, 15 file, 16 voice,
20 big file, 23 video) carry a hex `file_id` and `aes_key`, voice carries `voice_id`/`voice_size` instead, a big
file a `*1*…` id and an empty `aes_key`; WeChat users' files (101 image, 102 file, 103 video) carry an
`imunion.weixin.qq.com` URL as `file_id` and an `openim_cdn_authkey`, and their file message spells the key
`aeskey`; a GIF emoticon (104) carries only a `url`.
"""

from __future__ import annotations

import random
from typing import Any

from . import cdn
from .cdn import Blob, CdnStore

# msgtype -> (kind of file, from a WeChat user)
MEDIA_MSGTYPES: dict[int, tuple[str, bool]] = {
    14: (cdn.IMAGE, False),
    15: (cdn.FILE, False),
    16: (cdn.VOICE, False),
    20: (cdn.BIG_FILE, False),
    23: (cdn.VIDEO, False),
    101: (cdn.IMAGE, True),
    102: (cdn.FILE, True),
    103: (cdn.VIDEO, True),
}
GIF_MSGTYPE = 104
DEFAULT_NAMES = {
    cdn.IMAGE: "1722476983013.png",
    cdn.FILE: "会议纪要.txt",
    cdn.VOICE: "",
    cdn.VIDEO: "video.mp4",
    cdn.BIG_FILE: "postman_v7.6.0.zip",
}


def media_fields(
    store: CdnStore, rng: random.Random, msgtype: int, file_name: str | None, data: bytes | None
) -> tuple[dict[str, Any], Blob]:
    """The fields a media message of `msgtype` adds to a 102000 payload, and the file they point at."""
    kind, wechat = MEDIA_MSGTYPES[msgtype]
    name = file_name if file_name is not None else DEFAULT_NAMES[kind]
    if data is None:
        data = _sample(rng, kind, name)
    thumb = cdn.sample_png(rng, 64, 48) if kind == cdn.VIDEO else None
    blob = store.add(data, kind, name, wechat=wechat, thumb=thumb)
    if wechat:
        return _from_wechat(msgtype, blob), blob
    return _from_colleague(msgtype, blob, rng), blob


def _sample(rng: random.Random, kind: str, name: str) -> bytes:
    if kind == cdn.IMAGE:
        return cdn.sample_png(rng)
    if kind == cdn.VOICE:
        return cdn.sample_voice(rng)
    if kind == cdn.VIDEO:
        return cdn.sample_video(rng)
    return cdn.sample_file(rng, name)


def _from_colleague(msgtype: int, blob: Blob, rng: random.Random) -> dict[str, Any]:
    if msgtype == 16:
        return {
            "voice_id": blob.file_id,
            "voice_time": 1 + blob.size // 1600,
            "aes_key": blob.aes_key,
            "voice_size": blob.size,
            "md5": blob.md5,
        }
    fields: dict[str, Any] = {"file_name": blob.file_name, "file_size": blob.size, "file_id": blob.file_id}
    if msgtype == 14:
        assert blob.thumb is not None
        fields.update(
            innerkf_vid=0,
            extraContent={},
            mid_img_size=blob.mid_size,
            openim_cdn_ld_height=blob.thumb.height,
            openim_cdn_ld_width=blob.thumb.width,
            openim_cdn_ld_md5=blob.thumb.md5,
            devInfo=65537,
            is_hd=blob.is_hd,
            height=blob.height,
            width=blob.width,
            thumb_img_size=blob.thumb.size,
            aes_key=blob.aes_key,
            md5=blob.md5,
        )
    elif msgtype == 15:
        fields.update(aes_key=blob.aes_key, md5=blob.md5)
    elif msgtype == 20:
        fields.update(innerkf_vid=0, extraContent={}, devInfo=65537, aes_key="", md5=blob.md5.upper())
    else:  # 23
        assert blob.thumb is not None
        fields.update(
            video_duration=1 + rng.randrange(60),
            video_height=0,
            video_width=0,
            openim_cdn_ld_aeskey="",
            openim_cdn_ld_size=blob.thumb.size,
            openim_cdn_authkey="",
            aes_key=blob.aes_key,
            md5=blob.md5,
            preview_img_url="",
        )
        fields.pop("file_name")  # the sample has none
    return fields


def _from_wechat(msgtype: int, blob: Blob) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "file_size": blob.size,
        "file_id": blob.file_id,
        "openim_cdn_authkey": blob.auth_key,
        "md5": blob.md5,
    }
    if msgtype == 101:
        fields.update(width=0, height=0, aes_key=blob.aes_key)
    elif msgtype == 102:
        fields.update(file_name=blob.file_name, aeskey=blob.aes_key)  # sic: "aeskey" in this sample only
    else:  # 103
        assert blob.thumb is not None
        fields.update(
            video_duration=1 + blob.size // 50_000,
            video_height=0,
            video_width=0,
            openim_cdn_ld_aeskey=blob.aes_key,
            openim_cdn_ld_size=blob.thumb.size,
            aes_key=blob.aes_key,
            preview_img_url=blob.file_id.replace("param=v1_", "param=v1_ld_"),
        )
    return fields


def gif_fields(store: CdnStore, rng: random.Random, public_url: str) -> tuple[dict[str, Any], Blob]:
    """104: a GIF emoticon, fetched directly from its `url` (here on the simulator's own host)."""
    blob = store.add(cdn.sample_gif(rng), cdn.IMAGE, "emotion.gif")
    return {"url": store.link(blob, public_url), "width": 48, "height": 48, "EmotionType": "EMOTION_DYNAMIC"}, blob
