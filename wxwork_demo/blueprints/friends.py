"""Friend requests and accepting them (`local-api.md`, "Sending more than text")."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import READS, UPSTREAM, endpoint
from wxwork_demo.contract import friends as contract
from wxwork_demo.contract.rooms import UuidQuery
from wxwork_demo.services.friends import requests

bp = Blueprint("friends", __name__, url_prefix="/api")


@bp.get("/friend-requests")
@endpoint(query=UuidQuery, reply=contract.FriendRequests, errors=tuple(sorted({"400", "404", "502", "504", *READS})))
def friend_requests(query: UuidQuery) -> contract.FriendRequests:
    """The account's friend requests: GetApplyUserList to its end, and those callback 116001 announced"""
    return requests.list_requests(query.uuid)


@bp.post("/friend-requests/accept")
@endpoint(body=contract.AcceptBody, reply=contract.Accepted, errors=UPSTREAM, body_required=True)
def accept(body: contract.AcceptBody) -> contract.Accepted:
    """Accept a friend request (AgreeUser)"""
    return requests.accept(body.uuid, body.vid)
