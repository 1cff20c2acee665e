"""Send a text, read contacts (`local-api.md`, "Business")."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import UPSTREAM, endpoint
from wxwork_demo.contract import business as contract
from wxwork_demo.services.business import messaging as business

bp = Blueprint("business", __name__, url_prefix="/api")


@bp.post("/send-text")
@endpoint(body=contract.SendTextBody, reply=contract.SendText, errors=UPSTREAM, body_required=True)
def send_text(body: contract.SendTextBody) -> contract.SendText:
    """Send a text to a contact or a group (SendTextMsg)"""
    return business.send_text(body.uuid, body.send_userid, body.is_room, body.content, body.kf_id)


@bp.post("/contacts")
@endpoint(body=contract.ContactsBody, reply=contract.Contacts, errors=UPSTREAM)
def contacts(body: contract.ContactsBody) -> contract.Contacts:
    """One page of inner and one of external contacts, fetched together"""
    page = business.ContactsPage(
        inner_limit=body.inner.limit,
        inner_str_seq=body.inner.str_seq,
        external_limit=body.external.limit,
        external_seq=body.external.seq,
    )
    return business.contacts(body.uuid, page)
