"""Friend requests and accepting them (`local-api.md`, "Sending more than text")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part
from wxwork_demo.contract.common import Reply, UpstreamReply
from wxwork_demo.contract.login import Uuid


class AcceptBody(Body):
    REQUIRED = ("vid",)

    uuid: Uuid
    vid: Annotated[
        int, fields.upstream_id("The applicant's user id (from the request list or callback 116001).", required=True)
    ]


RequestStatus = Literal["waiting", "accepted", "deleted"]


class FriendRequestInfo(Part):
    user_id: str = Field(description="The applicant's user id, a decimal string.")
    name: str
    avatar: str
    status: RequestStatus
    source: str = Field(description="callback (116001) or list (GetApplyUserList).")
    applied_at: str = Field(description="ISO-8601 UTC, empty when unknown.")
    updated_at: str


class FriendRequests(Reply):
    """The account's friend requests, waiting ones first, newest first."""

    uuid: str
    requests: list[FriendRequestInfo]


class Accepted(Reply):
    request: dict[str, Any] = Field(description="The payload sent upstream (AgreeUser).")
    raw: UpstreamReply
    friend: FriendRequestInfo
