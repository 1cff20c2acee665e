"""The webhook intake: decode the upstream's `{uuid, json, type}` and act on the type code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wxwork_demo.db import db_session
from wxwork_demo.errors import BadInput
from wxwork_demo.models import LoginSession
from wxwork_demo.services.events import add_event, prune_if_due
from wxwork_demo.services.sessions import find_session

SCANNED = 100001
CONFIRMED = 100002
CANCELLED = 100003
NEEDS_CODE = 100004
LOGIN_SUCCESS = 104001
MESSAGE = 102000
# The disconnect family (upstream-api.md §4.1): the account is no longer usable as it was.
DISCONNECTS = {
    100005: "phone ended the login",
    100007: "login cache invalid",
    100008: "logged in on another device",
    100009: "QR code not scanned in time",
    100012: "secondary verification required",
}
# Types that change a session row; every other type is only logged.
SESSION_TYPES = {SCANNED, CONFIRMED, CANCELLED, NEEDS_CODE, LOGIN_SUCCESS, *DISCONNECTS}


@dataclass(frozen=True)
class Callback:
    uuid: str
    type: int
    payload: dict


def parse_callback(body: Any) -> Callback:
    """Decode the wrapper. `json` may be a JSON string (decoded again) or an object; `type` int or str."""
    if not isinstance(body, dict):
        raise BadInput("body", "callback body must be a JSON object with uuid, json and type")
    raw_type = body.get("type")
    try:
        type_code = int(str(raw_type).strip())
    except (TypeError, ValueError):
        raise BadInput("type", "type must be the numeric event code") from None
    uuid = body.get("uuid")
    uuid = "" if uuid is None else str(uuid).strip()
    return Callback(uuid=uuid[:64], type=type_code, payload=_decode_payload(body.get("json")))


def _decode_payload(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        if value.strip() == "":
            return {}
        try:
            decoded = json.loads(value)
        except ValueError:
            return {"text": value}
        return decoded if isinstance(decoded, dict) else {"value": decoded}
    return {} if value is None else {"value": value}


def store_callback(callback: Callback) -> int | None:
    """Record the callback and apply its effect on the session in one commit.

    Returns the id of the session to reconnect when the callback says the account dropped.
    """
    session = db_session()
    event = add_event(session, callback.uuid, "callback", str(callback.type), callback.payload)
    row = find_session(callback.uuid) if callback.uuid and callback.type in SESSION_TYPES else None
    if row is None and callback.type == LOGIN_SUCCESS and callback.uuid:
        row = LoginSession(uuid=callback.uuid)
        session.add(row)
    if row is not None:
        _apply(row, callback)
    session.commit()
    prune_if_due(session, event.id)
    if row is not None and callback.type == LOGIN_SUCCESS:
        _forget_older_instances(row)
    if row is not None and callback.type in DISCONNECTS and row.vid:
        return row.id
    return None


def _apply(row: LoginSession, callback: Callback) -> None:
    payload = callback.payload
    code = callback.type
    if code in (SCANNED, NEEDS_CODE):
        key = payload.get("Qrcode_key") or payload.get("qrcode_key") or payload.get("qrcodeKey")
        if key:
            row.qrcode_key = str(key)[:128]
        row.last_event = "need-code" if code == NEEDS_CODE else "scanned"
    elif code == CONFIRMED:
        row.last_event = "confirmed"
    elif code == CANCELLED:
        row.last_event = "scan-cancelled"
    elif code == LOGIN_SUCCESS:
        account = payload.get("user_id") or payload.get("Vid") or payload.get("vid")
        if account:
            row.vid = str(account)[:64]
        row.is_login = True
        row.qrcode = ""
        row.last_event = "login-success"
        row.last_error = ""
    elif code in DISCONNECTS:
        row.is_login = False
        row.last_event = f"disconnect:{code}"
        row.last_error = str(payload.get("msg") or DISCONNECTS[code])[:1000]


def _forget_older_instances(row: LoginSession) -> None:
    from wxwork_demo.services.sessions import forget_other_sessions_of

    forget_other_sessions_of(row.vid or "", row.uuid)
