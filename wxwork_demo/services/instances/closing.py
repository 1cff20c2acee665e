"""Instances nobody uses any more: closed upstream (CloseConnent), then their rows removed.

- A person deletes an instance (console, API, CLI): it is closed upstream first, then its row goes, so a
  stale login (a wrong code, a QR never scanned) neither piles up nor can be made the active account again.
  An upstream that refuses the close ("实例不存在") has no such instance open: the row goes all the same. An
  upstream that cannot be asked keeps the row, unless the person insists (`force`): the instance may then
  live on upstream, and the answer says so.
- An account that logged in on a new instance leaves its older rows behind (`forget_other_instances_of`):
  they are removed at once and closed upstream in the background (a chore), never while the webhook that
  noticed it waits.

Owns the deletion of `Instance` rows. May call: registry, events, upstream_calls, chores.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from flask import current_app
from sqlalchemy import select

from wxwork_demo.chores import chore
from wxwork_demo.contract.instances import Deleted, UpstreamClose
from wxwork_demo.db import db_session
from wxwork_demo.models import Instance
from wxwork_demo.services.events import add_event
from wxwork_demo.services.instances.registry import active_instance, instance_info, require_instance
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import UpstreamError, UpstreamRefused

log = logging.getLogger(__name__)

CLOSE_STAGE = "close_instance"  # the CloseConnent call (close_instance_error when it fails)
DELETE_STAGE = "delete_instance"  # the row removed, and why
PENDING_KEY = "wxwork_instances_to_close"


def delete_instance(uuid: str, *, force: bool = False, by: str = "api") -> Deleted:
    """Close the instance upstream (CloseConnent), then delete its row; its events stay.

    Raises the upstream's error (the row kept) when the upstream could not answer, unless `force`.
    """
    row = require_instance(uuid)
    uuid, vid, state = row.uuid, row.vid or "", row.state or ""
    warning = None
    closed: UpstreamClose
    try:
        traced(CLOSE_STAGE, uuid, client().close_connection, uuid)
        closed = "closed"
    except UpstreamRefused as exc:  # answered: it has no such instance open (or will not close it)
        closed, warning = "refused", f"the upstream refused to close it ({exc.errmsg or exc.errcode}): row deleted"
    except UpstreamError as exc:
        if not force:
            raise
        closed = "not_closed"
        warning = f"not closed upstream ({exc.message}): it may live on there until the upstream drops it"
    session = db_session()
    still_there = session.scalars(select(Instance).where(Instance.uuid == uuid)).first()
    if still_there is not None:
        session.delete(still_there)
    payload = {"uuid": uuid, "vid": vid, "state": state, "by": by, "upstreamClose": closed}
    add_event(session, uuid, DELETE_STAGE, "deleted", payload)
    session.commit()
    return Deleted(uuid=uuid, upstream_close=closed, warning=warning, active=instance_info(active_instance()))


def forget_other_instances_of(vid: str, keep_uuid: str) -> list[str]:
    """An account logged in on a new instance: its older rows describe instances it left. They are deleted
    now, and closed upstream soon in the background (`close_later`). Returns their uuids."""
    if not vid:
        return []
    session = db_session()
    rows = list(session.scalars(select(Instance).where(Instance.vid == vid, Instance.uuid != keep_uuid)))
    for row in rows:
        session.delete(row)
        add_event(session, row.uuid, DELETE_STAGE, "deleted", _left_payload(row, keep_uuid))
    session.commit()
    uuids = [row.uuid for row in rows]
    close_later(uuids)
    return uuids


def _left_payload(row: Instance, keep_uuid: str) -> dict[str, Any]:
    return {"uuid": row.uuid, "vid": row.vid or "", "state": row.state or "", "by": "login", "movedTo": keep_uuid}


def close_later(uuids: list[str]) -> None:
    """CloseConnent each of `uuids` in a chore of this process: the caller does not wait on the upstream."""
    if not uuids:
        return
    pending = _pending()
    with pending.lock:
        pending.uuids.extend(uuids)
    chore("close-instances", _close_pending).request()


class _Pending:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.uuids: list[str] = []


def _pending() -> _Pending:
    found = current_app.extensions.setdefault(PENDING_KEY, _Pending())
    if not isinstance(found, _Pending):
        raise RuntimeError(f"app.extensions[{PENDING_KEY!r}] holds a {type(found).__name__}")
    return found


def _close_pending() -> None:
    pending = _pending()
    with pending.lock:
        uuids, pending.uuids = pending.uuids, []
    for uuid in uuids:
        # Recorded either way (close_instance / close_instance_error); an instance the upstream dropped
        # already answers "实例不存在", one it cannot be asked about now is left to the upstream.
        with contextlib.suppress(UpstreamError):
            traced(CLOSE_STAGE, uuid, client().close_connection, uuid)
