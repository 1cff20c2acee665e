"""The inbox over HTTP: `GET /api/messages`, `/api/messages/<id>`, `/api/conversations` (local-api.md)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from wxwork_demo.errors import BadInput
from wxwork_demo.services.inbox import queries
from wxwork_demo.services.instances.registry import active_instance, find_instance
from wxwork_demo.validation import parse_positive_int

bp = Blueprint("messages", __name__, url_prefix="/api")

MAX_PAGE = 500
MAX_QUERY_TEXT = 200
# Message ids are the table's own BIGINT ids.
MAX_MESSAGE_ID = 2**63 - 1


def _text_arg(name: str, max_length: int = 64) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > max_length:
        raise BadInput(name, f"{name} must be at most {max_length} characters")
    if "\x00" in value:
        raise BadInput(name, f"{name} must not contain NUL")
    return value


def _id_arg(name: str) -> int:
    value = request.args.get(name, "").strip()
    if value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_MESSAGE_ID:
        raise BadInput(name, f"{name} must be a message id (digits)")
    return int(value)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if value == "":
        return None
    if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 9:
        raise BadInput(name, f"{name} must be a whole number")
    return int(value)


def _scope() -> tuple[str, str]:
    """(account, uuid) to filter by: `account` as given, else the account of `uuid` (default: the active
    instance), so that the messages of an account follow it across reconnects (new uuids)."""
    account, uuid = _text_arg("account"), _text_arg("uuid")
    if account:
        return account, ""
    row = find_instance(uuid) if uuid else active_instance()
    if row is not None and row.vid:
        return row.vid, ""
    return "", uuid


@bp.get("/messages")
def list_messages():
    account, uuid = _scope()
    wanted = queries.MessageFilter(
        account=account,
        uuid=uuid,
        conversation=_text_arg("conversation"),
        after=_id_arg("after"),
        before=_id_arg("before"),
        limit=parse_positive_int(request.args.get("limit"), "limit", default=50, maximum=MAX_PAGE),
        type=_int_arg("type"),
        msgtype=_int_arg("msgtype"),
        q=_text_arg("q", MAX_QUERY_TEXT),
    )
    if wanted.after and wanted.before:
        raise BadInput("after", "give after or before, not both")
    rows, following, more = queries.list_messages(wanted)
    return jsonify(ok=True, messages=[queries.message_to_dict(row) for row in rows], next=following, more=more)


@bp.get("/messages/<int:message_id>")
def get_message(message_id: int):
    return jsonify(ok=True, message=queries.message_to_dict(queries.get_message(message_id)))


@bp.get("/conversations")
def list_conversations():
    account, uuid = _scope()
    limit = parse_positive_int(request.args.get("limit"), "limit", default=50, maximum=MAX_PAGE)
    return jsonify(ok=True, conversations=queries.list_conversations(account, uuid, limit))
