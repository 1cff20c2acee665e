"""Send an image or a file: two upstream steps behind one call, paced like every send.

1. the source is checked here (services/business/media_source.py): a bad URL or upload is a 400 naming it, and
   nothing goes upstream;
2. the account's turn is reserved (services/business/pacing.py): a 429 here sends nothing either;
3. the CDN upload (`upload_image` / `upload_file` events): CdnUploadImgLink or UploadCdnLinkFile for a URL,
   CdnUploadImg or CdnUploadFile for an uploaded file;
4. at its turn, the send (`send_image` / `send_file` events): SendCDNImgMsg or SendCDNFileMsg with the upload's
   fields carried over as they came. Its failure after a successful upload is a 502 (whatever the failure:
   the upload stands, only the send is to be tried again), both steps recorded.

May call: instances, events, upstream_calls, business.pacing, business.sent_log, business.media_source.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from wxwork_demo.config import current_settings
from wxwork_demo.contract import business as contract
from wxwork_demo.errors import BadInput
from wxwork_demo.services.business.media_source import FILE, IMAGE, check_upload, check_url
from wxwork_demo.services.business.pacing import now_iso_ms
from wxwork_demo.services.business.sent_log import keep_outcome, mark_failed, sent_ids, take_turn
from wxwork_demo.services.instances.registry import require_instance_ids
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import Reply, Upload, UpstreamBadData, UpstreamError

# Links checked at once per process: a request thread waits for its own check, so as many as a worker's request
# threads (GUNICORN_THREADS, 16 by default) and then some.
CHECK_THREADS = 32


@dataclass(frozen=True)
class Target:
    uuid: str
    send_userid: int
    is_room: bool
    kf_id: int = 0


def send_image(target: Target, url: str = "", upload: Upload | None = None) -> contract.SendMedia:
    """An image from `url` (the upstream fetches it) or from an uploaded file."""
    return _send(IMAGE, target, url, upload, "")


def send_file(target: Target, url: str = "", upload: Upload | None = None, filename: str = "") -> contract.SendMedia:
    """A file from `url` or an uploaded file, shown to the recipient as `filename` (default: its own name)."""
    return _send(FILE, target, url, upload, filename)


def _send(kind: str, target: Target, url: str, upload: Upload | None, filename: str) -> contract.SendMedia:
    if bool(url) == (upload is not None):
        raise BadInput("url", "give either url (JSON) or a multipart file, not both" if url else "url is required")
    settings = current_settings()
    if upload is not None:
        instance = require_instance_ids(target.uuid)
        checked = check_upload(upload, kind, settings.media_max_bytes)
        source = "sha256:" + hashlib.sha256(upload.content).hexdigest()
    else:
        # The link's round trip to its host overlaps the instance's read from the database (an unknown uuid is
        # still the first answer; its link's check is then left to end unread).
        check = _checks().submit(
            check_url,
            url,
            kind,
            settings.media_max_bytes,
            settings.media_fetch_timeout_s,
            settings.media_url_allow_private,
        )
        instance = require_instance_ids(target.uuid)
        checked = check.result()
        source = url
    name = filename or checked.file_name or ("image" if kind == IMAGE else "file")
    what = f"{source}\n{name}" if kind == FILE else source
    summary = f"[{'图片' if kind == IMAGE else '文件'}] {name}"
    turn = take_turn(instance, target.send_userid, target.is_room, kind, what, summary)
    uuid = instance.uuid
    try:
        uploaded = _upload(kind, uuid, url, upload, name)
    except UpstreamError:
        mark_failed(turn, uuid)
        raise
    waited = turn.wait()
    sent_at = now_iso_ms()
    api = client()
    stage = f"send_{kind}"
    fields = uploaded.data if isinstance(uploaded.data, dict) else {}
    try:
        if not fields:  # nothing to send with: the sending call is not made
            mark_failed(turn, uuid)
            raise UpstreamBadData(uploaded.action, f"upstream {uploaded.action} answered no upload fields")
        # The send's own outcome (ids, or its failure) is kept with its event row by keep_outcome.
        keep = keep_outcome(turn)
        to = (uuid, target.send_userid, target.is_room, fields)
        if kind == IMAGE:
            reply = traced(stage, uuid, api.send_cdn_image, *to, target.kf_id, keep=keep)
        else:
            reply = traced(stage, uuid, api.send_cdn_file, *to, name, keep=keep)
    except UpstreamError as exc:
        exc.status = 502  # the upload succeeded: whatever failed, it was the send
        exc.message = f"{uploaded.action} succeeded but {exc.message}: nothing was sent"
        raise
    msg_id, server_id = sent_ids(reply)
    return contract.SendMedia(
        request=reply.request,
        raw=reply.envelope,
        msg_id=msg_id,
        server_id=server_id,
        waited_ms=waited,
        sent_at=sent_at,
        upload=contract.UploadStep(request=uploaded.request, raw=uploaded.envelope),
    )


_pool: ThreadPoolExecutor | None = None


def _checks() -> ThreadPoolExecutor:
    """The threads that check links. Long-lived on purpose: each keeps its keep-alive connections to image hosts
    (media_source.py). Created on first use, never at import (gunicorn forks after import)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=CHECK_THREADS, thread_name_prefix="media-link")
    return _pool


def _upload(kind: str, uuid: str, url: str, upload: Upload | None, name: str) -> Reply:
    """Step 1, recorded as `upload_image` / `upload_file`."""
    api, stage = client(), f"upload_{kind}"
    if kind == IMAGE:
        if upload is not None:
            return traced(stage, uuid, api.upload_image, uuid, upload)
        return traced(stage, uuid, api.upload_image_link, uuid, url)
    if upload is not None:
        return traced(stage, uuid, api.upload_file, uuid, Upload(name, upload.content, upload.content_type))
    return traced(stage, uuid, api.upload_file_link, uuid, url, name)
