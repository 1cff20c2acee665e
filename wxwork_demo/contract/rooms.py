"""Rooms (groups) and their members (`local-api.md`, "Sending more than text"). Ids are JSON strings: room
ids are larger than 2^53."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part
from wxwork_demo.contract.common import Reply
from wxwork_demo.contract.login import Uuid


class RoomsQuery(Body):
    uuid: Uuid
    refresh: Annotated[bool, fields.flag("true: read every page from the upstream now, not the cached list.")]


class UuidQuery(Body):
    uuid: Uuid


class Room(Part):
    room_id: str = Field(description="The room id, a decimal string (larger than 2^53).")
    name: str = Field(description='The room name ("" for a room nobody named).')
    total: int = Field(description="How many members it has.")
    owner: str = Field(description="The user id of its creator (owner).")
    managers: list[str] = Field(description="User ids of its admins.")
    created_at: str = Field(description="ISO-8601 UTC, empty when unknown.")


class Rooms(Reply):
    """Every room the account is in, paged to the end."""

    uuid: str
    rooms: list[Room]
    count: int
    fetched_at: str = Field(description="When the list was read from the upstream (ISO-8601 UTC).")
    cached: bool = Field(description="true when served from the database, false when read now.")


class Member(Part):
    user_id: str
    name: str = Field(description="Real name, else nickname.")
    room_name: str = Field(description="The name the member gave itself in this room.")
    avatar: str
    join_time: str = Field(description="ISO-8601 UTC, empty when unknown.")
    inviter: str = Field(description="The user id of who invited the member.")


class RoomMembers(Reply):
    """One room and its members, read from the upstream now."""

    uuid: str
    room: Room
    members: list[Member]
