"""GET /api/friend-requests and POST /api/friend-requests/accept, and callback 116001.

Requests are kept per account in `friend_requests`: a 116001 callback records its applicants as waiting the
moment it is stored; listing reads GetApplyUserList to its end and records what the upstream says of each
(`item_flag` 3 deleted; accepted ones by `state`/`item_flag` 2, the simulator's reading of the two samples);
accepting calls AgreeUser and marks the request accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from wxwork_demo.contract import friends as contract
from wxwork_demo.db import db_session
from wxwork_demo.models import FriendRequest, Instance, iso_utc, utcnow
from wxwork_demo.services.instances.registry import account_key, require_instance
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import id_text

WAITING, ACCEPTED, DELETED = "waiting", "accepted", "deleted"
PAGE_SIZE = 100
MAX_PAGES = 50


def list_requests(uuid: str) -> contract.FriendRequests:
    """Every request the upstream lists (recorded), with those only a callback announced, waiting first."""
    instance = require_instance(uuid)
    account = account_key(instance)
    api, seq = client(), 0
    entries: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        reply = traced("get_friend_requests", instance.uuid, api.apply_users, instance.uuid, PAGE_SIZE, seq)
        data = reply.data if isinstance(reply.data, dict) else {}
        page = [entry for entry in data.get("list") or [] if isinstance(entry, dict)]
        next_seq = data.get("seq")
        if not page or not isinstance(next_seq, int) or next_seq == seq:
            entries += page
            break
        entries += page
        seq = next_seq
    session = db_session()
    for entry in entries:
        _record(session, account, entry, _status_of(entry), "list")
    session.commit()
    return contract.FriendRequests(uuid=instance.uuid, requests=_stored(account))


def accept(uuid: str, vid: int) -> contract.Accepted:
    """AgreeUser for the applicant `vid`; the request is kept as accepted."""
    instance = require_instance(uuid)
    reply = traced("accept_friend", instance.uuid, client().agree_user, instance.uuid, vid)
    session = db_session()
    row = _record(session, account_key(instance), {"user_id": vid}, ACCEPTED, "")
    session.commit()
    return contract.Accepted(request=reply.request, raw=reply.envelope, friend=_info(row))


def record_applicants(session: Session, instance: Instance | None, payload: dict[str, Any]) -> None:
    """Callback 116001: its applicants wait for an answer (in the caller's transaction, which stores the
    callback)."""
    if instance is None:
        return
    for entry in payload.get("list") or []:
        if isinstance(entry, dict):
            _record(session, account_key(instance), entry, WAITING, "callback")


def _status_of(entry: dict[str, Any]) -> str:
    if entry.get("item_flag") == 3:
        return DELETED
    if entry.get("item_flag") == 2 or entry.get("state") == 2:
        return ACCEPTED
    return WAITING


def _record(session: Session, account: str, entry: dict[str, Any], status: str, source: str) -> FriendRequest:
    applicant = id_text(entry.get("user_id"))
    row = session.get(FriendRequest, (account, applicant))
    if row is None:
        row = FriendRequest(account=account, applicant=applicant, source=source or "list")
        session.add(row)
    name = entry.get("realname") or entry.get("nickname")
    if name:
        row.name = str(name)[:128]
    if entry.get("avatar"):
        row.avatar = str(entry["avatar"])[:512]
    applied = _time(entry.get("apply_create_time"))
    if applied is not None:
        row.applied_at = applied
    elif row.applied_at is None and source == "callback":
        row.applied_at = utcnow().replace(microsecond=0)
    if len(entry) > 1:
        row.payload = entry
    row.status, row.updated_at = status, utcnow()
    return row


def _stored(account: str) -> list[contract.FriendRequestInfo]:
    query = (
        select(FriendRequest)
        .where(FriendRequest.account == account, FriendRequest.applicant != "")
        .order_by(case((FriendRequest.status == WAITING, 0), else_=1), FriendRequest.updated_at.desc())
        .limit(500)
    )
    return [_info(row) for row in db_session().scalars(query)]


def _shown_status(status: str | None) -> contract.RequestStatus:
    """The stored status as the API names it; anything unknown is still waiting."""
    if status == ACCEPTED:
        return "accepted"
    if status == DELETED:
        return "deleted"
    return "waiting"


def _info(row: FriendRequest) -> contract.FriendRequestInfo:
    return contract.FriendRequestInfo(
        user_id=row.applicant,
        name=row.name or "",
        avatar=row.avatar or "",
        status=_shown_status(row.status),
        source=row.source or "",
        applied_at=iso_utc(row.applied_at),
        updated_at=iso_utc(row.updated_at),
    )


def _time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > 32503680000:
        return None
    return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
