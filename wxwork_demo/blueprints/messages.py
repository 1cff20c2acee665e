"""The inbox over HTTP: `GET /api/messages`, `/api/messages/<id>`, its `/media`, `/api/conversations` (local-api.md)."""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from wxwork_demo.blueprints.edge import READS, endpoint
from wxwork_demo.contract import inbox as contract
from wxwork_demo.services.inbox import queries
from wxwork_demo.services.media.messages import message_media

bp = Blueprint("messages", __name__, url_prefix="/api")


def _shown(row: queries.MessageRow) -> contract.Message:
    return contract.Message.model_validate(queries.message_to_dict(row))


@bp.get("/messages")
@endpoint(query=contract.MessagesQuery, reply=contract.Messages, errors=("400", *READS))
def list_messages(query: contract.MessagesQuery) -> contract.Messages:
    """Stored messages, newest first; `next` is the `before=` of the older page"""
    account, uuid = queries.scope(query.account, query.uuid)
    wanted = queries.MessageFilter(
        account=account,
        uuid=uuid,
        conversation=query.conversation,
        after=query.after,
        before=query.before,
        limit=query.limit,
        type=query.type,
        msgtype=query.msgtype,
        q=query.q,
    )
    rows, following, more = queries.list_messages(wanted)
    # One validation of the whole page (not a model per message, then the page of models): a third of the time.
    shown = [queries.message_to_dict(row) for row in rows]
    return contract.Messages.model_validate({"messages": shown, "next": following, "more": more})


@bp.get("/messages/<int:message_id>")
@endpoint(reply=contract.OneMessage, errors=("404", *READS))
def get_message(message_id: int) -> contract.OneMessage:
    """One stored message"""
    return contract.OneMessage(message=_shown(queries.get_message(message_id)))


@bp.get("/messages/<int:message_id>/media")
@endpoint(reply=contract.MediaFile, errors=("404", "413", "502", "504", *READS), binary=True)
def get_message_media(message_id: int) -> Response:
    """The message's file (DownloadFile or DownloadWeChatFile the first time, then from storage); 404 without one,
    413 when it is larger than MEDIA_MAX_BYTES"""
    media = message_media(message_id)
    download = request.args.get("download", "") in ("1", "true")
    response = send_file(
        media.path, mimetype=media.content_type, download_name=media.file_name, as_attachment=download, max_age=3600
    )
    # A received file is the sender's content: never run in our origin, whatever type it claims.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/conversations")
@endpoint(query=contract.ConversationsQuery, reply=contract.Conversations, errors=("400", *READS))
def list_conversations(query: contract.ConversationsQuery) -> contract.Conversations:
    """The conversations of an account, the most recently active first, with their last message"""
    account, uuid = queries.scope(query.account, query.uuid)
    found = queries.list_conversations(account, uuid, query.limit)
    return contract.Conversations(conversations=[contract.Conversation.model_validate(item) for item in found])
