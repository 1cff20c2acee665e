"""Rooms and their members (`local-api.md`, "Sending more than text")."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import READS, endpoint
from wxwork_demo.contract import rooms as contract
from wxwork_demo.services.rooms import listing

bp = Blueprint("rooms", __name__, url_prefix="/api")
ROOM_READ_ERRORS = tuple(sorted({"400", "404", "502", "504", *READS}))


@bp.get("/rooms")
@endpoint(query=contract.RoomsQuery, reply=contract.Rooms, errors=ROOM_READ_ERRORS)
def rooms(query: contract.RoomsQuery) -> contract.Rooms:
    """Every room of the account, paged to the end (GetSessionRoomList), cached until a room changes"""
    return listing.list_rooms(query.uuid, refresh=query.refresh)


@bp.get("/rooms/<room_id>/members")
@endpoint(query=contract.UuidQuery, reply=contract.RoomMembers, errors=ROOM_READ_ERRORS)
def room_members(room_id: str, query: contract.UuidQuery) -> contract.RoomMembers:
    """One room of the account and its members (GetRoomUserList); 404 for a room it is not in"""
    return listing.room_members(query.uuid, room_id)
