"""Send texts, images and files, revoke them, read contacts (`local-api.md`, "Business", "Sending more than
text")."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import READS, SENDS, UPSTREAM, endpoint
from wxwork_demo.contract import business as contract
from wxwork_demo.services.business import media_sending, sent_log
from wxwork_demo.services.business import messaging as business
from wxwork_demo.upstream import Upload

bp = Blueprint("business", __name__, url_prefix="/api")


@bp.post("/send-text")
@endpoint(body=contract.SendTextBody, reply=contract.SendText, errors=SENDS, body_required=True)
def send_text(body: contract.SendTextBody) -> contract.SendText:
    """Send a text to a contact or a group (SendTextMsg; with at/atAll SendTextAtMsg/SendTextAtMsgTwo), paced"""
    return business.send_text(
        body.uuid, body.send_userid, body.is_room, body.content, body.kf_id, at=body.at, at_all=body.at_all
    )


@bp.post("/send-image")
@endpoint(body=contract.SendMediaBody, reply=contract.SendMedia, errors=SENDS, body_required=True, uploads=True)
def send_image(body: contract.SendMediaBody, upload: Upload | None) -> contract.SendMedia:
    """Send an image by URL or upload (CdnUploadImgLink or CdnUploadImg, then SendCDNImgMsg), paced"""
    target = media_sending.Target(body.uuid, body.send_userid, body.is_room, body.kf_id)
    return media_sending.send_image(target, body.url, upload)


@bp.post("/send-file")
@endpoint(body=contract.SendFileBody, reply=contract.SendMedia, errors=SENDS, body_required=True, uploads=True)
def send_file(body: contract.SendFileBody, upload: Upload | None) -> contract.SendMedia:
    """Send a file by URL or upload (UploadCdnLinkFile or CdnUploadFile, then SendCDNFileMsg), paced"""
    target = media_sending.Target(body.uuid, body.send_userid, body.is_room)
    return media_sending.send_file(target, body.url, upload, body.filename)


@bp.post("/revoke")
@endpoint(body=contract.RevokeBody, reply=contract.Revoked, errors=(*UPSTREAM, "409"), body_required=True)
def revoke(body: contract.RevokeBody) -> contract.Revoked:
    """Take back a message this app sent (RevokeMsg); 404 for one it did not send"""
    return sent_log.revoke(body.uuid, body.msg_id, body.room_id)


@bp.get("/sent")
@endpoint(query=contract.SentQuery, reply=contract.SentList, errors=("400", "404", *READS))
def sent(query: contract.SentQuery) -> contract.SentList:
    """Messages the account sent through this app, newest first (what revoke can take back)"""
    return sent_log.recent(query.uuid, query.limit)


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
