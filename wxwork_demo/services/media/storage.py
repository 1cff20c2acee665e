"""Received media on disk: each message's file fetched once, kept under `<root>/<account>/`, served from there.

A file is downloaded through the action of its kind (kinds.py), then from the link that action answers, into a
temporary file that becomes the stored one only when complete: a failed or empty download leaves nothing
behind, so the next request tries again instead of serving an empty file. A lock file per message keeps
concurrent requests, in any worker or process of this host, to one download. `<key>.json` beside the file
records its type and name, and is written last: without it there is no stored file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wxwork_demo.errors import AppError
from wxwork_demo.services.media.kinds import MediaSource, NotMedia, media_source
from wxwork_demo.services.upstream_calls import client, record_outcome, traced
from wxwork_demo.upstream import MediaTooLarge, UpstreamBadData, UpstreamError

STAGE = "download_media"
# How long the download from the upstream's link may take in all.
DOWNLOAD_DEADLINE_S = 120.0
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"#!SILK", "audio/silk"),
    (b"\x02#!SILK", "audio/silk"),
)


@dataclass(frozen=True)
class StoredMedia:
    path: Path
    content_type: str
    size: int
    file_name: str


def fetch_media(uuid: str, account: str, key: str, payload: dict[str, Any], root: Path, max_bytes: int) -> StoredMedia:
    """The file of the message `key` of `account` (its 102000 `payload`), downloaded on first use.

    Raises AppError 404 when the message has no file, `MediaTooLarge` (413) past `max_bytes`, announced or
    counted, and the `UpstreamError` of a failed action or download; both are recorded as a
    `download_media_error` event, and neither leaves a file behind.
    """
    try:
        source = media_source(payload)
    except NotMedia as exc:
        raise AppError(404, f"message {key} has no media: {exc}") from None
    if source.size > max_bytes:
        announced = MediaTooLarge(
            STAGE,
            f"the {source.kind} of message {key} is {source.size} bytes, over MEDIA_MAX_BYTES ({max_bytes} bytes): "
            "not downloaded",
        )
        announced.request = {"msgtype": source.msgtype, "size": source.size}
        _record(uuid, announced)
        raise announced
    folder = root / _safe(account)
    folder.mkdir(parents=True, exist_ok=True)
    name = _safe(key)
    with _locked(folder / f"{name}.lock"):
        kept = stored_media(root, account, key)
        if kept is not None:
            return kept
        return _download(uuid, source, folder, name, max_bytes)


def stored_media(root: Path, account: str, key: str) -> StoredMedia | None:
    """The stored file of a message, if one was completely downloaded."""
    folder, name = root / _safe(account), _safe(key)
    try:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        path = folder / f"{name}.bin"
        size = path.stat().st_size
    except (OSError, ValueError):
        return None
    return StoredMedia(path=path, content_type=meta["contentType"], size=size, file_name=meta["fileName"])


def remove_older_than(root: Path, seconds: float) -> int:
    """Retention: delete stored files (with their records and locks) older than `seconds`; returns how many."""
    cutoff = time.time() - seconds
    removed = 0
    for record in root.glob("*/*.json"):
        with contextlib.suppress(OSError):
            if record.stat().st_mtime >= cutoff:
                continue
            name = record.name.removesuffix(".json")
            record.unlink()  # first: without its record a file is not served
            for leftover in (f"{name}.bin", f"{name}.lock"):
                (record.parent / leftover).unlink(missing_ok=True)
            removed += 1
    return removed


def _download(uuid: str, source: MediaSource, folder: Path, name: str, max_bytes: int) -> StoredMedia:
    api = client()
    link = source.url
    if not link:
        reply = traced(STAGE, uuid, getattr(api, source.method), uuid, *source.args)
        try:
            link = api.media_url(reply)
        except UpstreamError as exc:
            _record(uuid, exc)
            raise
    part = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        with part.open("wb") as target:
            done = api.download_to(link, target, max_bytes, DOWNLOAD_DEADLINE_S)
        if done.size == 0:
            raise UpstreamBadData(STAGE, f"the {source.kind} behind {link} is empty")
    except UpstreamError as exc:
        part.unlink(missing_ok=True)
        exc.request = {"url": link, "msgtype": source.msgtype}
        if isinstance(exc, MediaTooLarge):  # the client's words name no setting and no message
            exc.message = (
                f"the {source.kind} of message {name} is over MEDIA_MAX_BYTES ({max_bytes} bytes): "
                "its download was stopped and nothing kept"
            )
            exc.args = (exc.message,)
        _record(uuid, exc)
        raise
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    with part.open("rb") as written:
        head = written.read(16)
    content_type = _content_type(head, done.content_type, source)
    path = folder / f"{name}.bin"
    os.replace(part, path)
    record = folder / f".{name}.json.part"
    record.write_text(json.dumps({"contentType": content_type, "fileName": source.file_name}), encoding="utf-8")
    os.replace(record, folder / f"{name}.json")
    return StoredMedia(path=path, content_type=content_type, size=done.size, file_name=source.file_name)


def _record(uuid: str, exc: UpstreamError) -> None:
    record_outcome(STAGE, uuid, exc)


def _content_type(head: bytes, answered: str, source: MediaSource) -> str:
    """What the bytes say, else what the link answered (when it says something), else what the name says."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if answered and answered != "application/octet-stream":
        return answered
    return source.content_type


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _safe(part: str) -> str:
    cleaned = _SAFE.sub("_", str(part))
    if not cleaned.strip("._"):
        raise AppError(400, f"not a usable name for stored media: {part!r}")
    return cleaned
