"""GET /api/rooms and /api/rooms/<id>/members: every room paged to the end, kept per account in `room_lists`.

The list is read again from the upstream when asked (`refresh`), when a room callback (115001-115009) came in
after it was read (`changed_at`), or when it is older than ROOMS_CACHE_S. Members are read when asked for:
a room of 500 people changes too often to cache, and nobody asks for all rooms' members at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wxwork_demo.config import current_settings
from wxwork_demo.contract import rooms as contract
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.models import Instance, RoomList, iso_utc, utcnow
from wxwork_demo.services.events import record_event
from wxwork_demo.services.instances.registry import account_key, require_instance
from wxwork_demo.services.upstream_calls import client, record_outcome, release_connection, store_after_upstream, traced
from wxwork_demo.upstream import UpstreamError, id_text

# Rooms per GetSessionRoomList call: the docs' sample asks for 10; a larger page means fewer round trips, and
# paging by offset (`star_index` = rooms received so far) stays right whatever page size the upstream keeps to.
PAGE_SIZE = 100
ROOM_ID_DIGITS = 20


def list_rooms(uuid: str, refresh: bool = False) -> contract.Rooms:
    """Every room of the account behind `uuid`: from the cache while it is fresh, else from the upstream."""
    instance = require_instance(uuid)
    cached = None if refresh else _fresh_list(instance)
    if cached is not None:
        return _rooms_reply(instance, cached, cached=True)
    return _rooms_reply(instance, fetch_rooms(instance), cached=False)


def room_members(uuid: str, room_id: str) -> contract.RoomMembers:
    """One room of the account, with its members read from the upstream now; 404 for a room it is not in."""
    instance = require_instance(uuid)
    room = _find_room(instance, room_id)
    reply = traced("get_room_members", instance.uuid, client().room_members, instance.uuid, room.room_id)
    data = reply.data if isinstance(reply.data, dict) else {}
    members = [_member(raw) for raw in data.get("member_list") or [] if isinstance(raw, dict)]
    detail = room_entry({**data, "room_id": data.get("room_id") or room.room_id}) if data else room.to_json()
    return contract.RoomMembers(
        uuid=instance.uuid, room=contract.Room.model_validate(detail), members=[m for m in members if m.user_id]
    )


def fetch_rooms(instance: Instance) -> RoomList:
    """Every page of GetSessionRoomList now, stored as the account's list (one `get_rooms` event)."""
    started_at, started = utcnow(), time.perf_counter()
    release_connection()
    uuid = instance.uuid
    try:
        raw_rooms = client().all_session_rooms(uuid, PAGE_SIZE)
    except UpstreamError as exc:
        record_outcome("get_rooms", uuid, exc)
        raise
    rooms = [room_entry(raw) for raw in raw_rooms]
    rooms = [room for room in rooms if room["roomId"]]
    summary = {
        "rooms": len(rooms),
        "pages": len(raw_rooms) // PAGE_SIZE + 1,
        "elapsedMs": round((time.perf_counter() - started) * 1000, 1),
    }
    store_after_upstream("get_rooms", uuid, lambda: record_event(uuid, "get_rooms", "GetSessionRoomList", summary))
    return _store_list(account_key(instance), rooms, started_at)


def note_room_change(session: Session, account: str) -> None:
    """A room callback (115001-115009) for `account`: its cached list is stale from now on (in the caller's
    transaction, the one that stores the callback)."""
    session.execute(update(RoomList).where(RoomList.account == account).values(changed_at=utcnow()))


def room_entry(raw: dict[str, Any]) -> dict[str, Any]:
    """A room of GetSessionRoomList or GetRoomUserList as the API shows it (ids as strings)."""
    managers = raw.get("managers")
    if not isinstance(managers, list):
        managers = []
    total = raw.get("total")
    return {
        "roomId": id_text(raw.get("room_id")),
        "name": str(raw.get("nickname") or raw.get("room_name") or ""),
        "total": total if isinstance(total, int) and not isinstance(total, bool) else 0,
        "owner": id_text(raw.get("create_user_id")),
        "managers": [id_text(m) for m in managers if id_text(m)],
        "createdAt": _iso_from_seconds(raw.get("create_time")),
    }


def _member(raw: dict[str, Any]) -> contract.Member:
    return contract.Member(
        user_id=id_text(raw.get("uin", raw.get("user_id"))),
        name=str(raw.get("realname") or raw.get("nickname") or ""),
        room_name=str(raw.get("room_nickname") or ""),
        avatar=str(raw.get("avatar") or ""),
        join_time=_iso_from_seconds(raw.get("jointime")),
        inviter=id_text(raw.get("invite_user_id")),
    )


def _find_room(instance: Instance, room_id: str) -> contract.Room:
    """The room among the account's (the list read again once if the cache does not have it), else a 404."""
    room_id = room_id.strip()
    if room_id.isascii() and room_id.isdigit() and len(room_id) <= ROOM_ID_DIGITS:
        room_id = str(int(room_id))
        cached = _fresh_list(instance)
        for listing in ([cached] if cached is not None else []) + [None]:
            found = listing if listing is not None else fetch_rooms(instance)
            room = next((entry for entry in found.rooms or [] if entry.get("roomId") == room_id), None)
            if room is not None:
                return contract.Room.model_validate(room)
    raise AppError(404, f"unknown room {room_id!r}: the account is not in it", code="unknown_room", field="room_id")


def _fresh_list(instance: Instance) -> RoomList | None:
    listing = db_session().get(RoomList, account_key(instance), populate_existing=True)
    if listing is None:
        return None
    if listing.changed_at is not None and listing.changed_at >= listing.fetched_at:
        return None
    if utcnow() - listing.fetched_at > timedelta(seconds=current_settings().rooms_cache_s):
        return None
    return listing


def _store_list(account: str, rooms: list[dict[str, Any]], fetched_at: datetime) -> RoomList:
    """Upsert the account's list and commit (a concurrent first fetch may insert it first: then update it)."""
    session = db_session()
    try:
        return _upsert_list(session, account, rooms, fetched_at)
    except IntegrityError:
        session.rollback()
        return _upsert_list(session, account, rooms, fetched_at)


def _upsert_list(session: Session, account: str, rooms: list[dict[str, Any]], fetched_at: datetime) -> RoomList:
    listing = session.get(RoomList, account, populate_existing=True)
    if listing is None:
        listing = RoomList(account=account)
        session.add(listing)
    listing.rooms, listing.fetched_at = rooms, fetched_at
    session.commit()
    return listing


def _rooms_reply(instance: Instance, listing: RoomList, *, cached: bool) -> contract.Rooms:
    rooms = [contract.Room.model_validate(room) for room in listing.rooms or []]
    return contract.Rooms(
        uuid=instance.uuid, rooms=rooms, count=len(rooms), fetched_at=iso_utc(listing.fetched_at), cached=cached
    )


def _iso_from_seconds(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > 32503680000:
        return ""
    return iso_utc(datetime.fromtimestamp(value, UTC).replace(tzinfo=None))
