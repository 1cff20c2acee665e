"""Send a text, read contacts (`local-api.md`, "Business")."""

from __future__ import annotations

from flask import Blueprint, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.errors import BadInput
from wxwork_demo.services.business import messaging as business
from wxwork_demo.validation import ID_PATTERN, MAX_ID, MAX_TEXT, optional_str, parse_bool, parse_id, parse_positive_int

bp = Blueprint("business", __name__, url_prefix="/api")


@bp.post("/send-text")
def send_text():
    body = json_body(allow_empty=False)
    uuid = optional_str(body, "uuid", max_length=64)
    send_userid = parse_id(body, "send_userid", "sendUserid", required=True)
    is_room = parse_bool(body, "isRoom", required=True)
    content = body.get("content")
    if not isinstance(content, str) or content.strip() == "":
        raise BadInput("content", "content is required (a non-empty string)")
    if len(content) > MAX_TEXT:
        raise BadInput("content", f"content must be at most {MAX_TEXT} characters")
    kf_id = parse_id(body, "kf_id", "kfId", required=False, default=0)
    return jsonify(business.send_text(uuid, send_userid, is_room, content, kf_id))


def _section(body: dict, name: str) -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(name, f'{name} must be an object like {{"limit": 100}}')
    return value


def _cursor(value, field: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, str) and ID_PATTERN.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
        return value
    raise BadInput(field, f"{field} must be a non-negative integer cursor (at most {MAX_ID})")


@bp.post("/contacts")
def contacts():
    body = json_body()
    inner, external = _section(body, "inner"), _section(body, "external")
    inner_seq = inner.get("strSeq", body.get("innerStrSeq", ""))
    if not isinstance(inner_seq, str):
        raise BadInput("inner.strSeq", "inner.strSeq must be a string cursor")
    # The old demo sent `strSeq` for external contacts too; the upstream documents a numeric `seq`.
    external_seq = next(
        (
            v
            for v in (external.get("seq"), external.get("strSeq"), body.get("externalStrSeq"), body.get("externalSeq"))
            if v not in (None, "")
        ),
        0,
    )
    page = business.ContactsPage(
        inner_limit=parse_positive_int(inner.get("limit", body.get("innerLimit")), "inner.limit", default=100),
        inner_str_seq=inner_seq,
        external_limit=parse_positive_int(
            external.get("limit", body.get("externalLimit")), "external.limit", default=100
        ),
        external_seq=_cursor(external_seq, "external.seq"),
    )
    return jsonify(business.contacts(optional_str(body, "uuid", max_length=64), page))
