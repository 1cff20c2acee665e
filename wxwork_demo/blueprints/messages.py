"""The inbox over HTTP: `GET /api/messages`, `/api/messages/<id>`, `/api/conversations` (local-api.md)."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import READS, endpoint
from wxwork_demo.contract import inbox as contract
from wxwork_demo.services.inbox import queries

bp = Blueprint("messages", __name__, url_prefix="/api")


def _shown(row) -> contract.Message:
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
    return contract.Messages(messages=[_shown(row) for row in rows], next=following, more=more)


@bp.get("/messages/<int:message_id>")
@endpoint(reply=contract.OneMessage, errors=("404", *READS))
def get_message(message_id: int) -> contract.OneMessage:
    """One stored message"""
    return contract.OneMessage(message=_shown(queries.get_message(message_id)))


@bp.get("/conversations")
@endpoint(query=contract.ConversationsQuery, reply=contract.Conversations, errors=("400", *READS))
def list_conversations(query: contract.ConversationsQuery) -> contract.Conversations:
    """The conversations of an account, the most recently active first, with their last message"""
    account, uuid = queries.scope(query.account, query.uuid)
    found = queries.list_conversations(account, uuid, query.limit)
    return contract.Conversations(conversations=[contract.Conversation.model_validate(item) for item in found])
