"""The webhook intake: decode the upstream's `{uuid, json, type}` and act on the type code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wxwork_demo.db import db_session
from wxwork_demo.errors import BadInput
from wxwork_demo.models import LoginSession
from wxwork_demo.services.events import add_event, prune_if_due
from wxwork_demo.services.reconnect import request_secondary_validation, schedule_reconnect
from wxwork_demo.services.session_state import (
    INITIALISED,
    NEEDS_PERSON,
    OFFLINE,
    ONLINE,
    WAITING_CODE,
    WAITING_SCAN,
    set_state,
)
from wxwork_demo.services.sessions import find_session, forget_other_sessions_of

SCANNED = 100001
CONFIRMED = 100002
CANCELLED = 100003
NEEDS_CODE = 100004
LOGIN_SUCCESS = 104001
MESSAGE = 102000
QR_EXPIRED = 100009
SECONDARY_VERIFICATION = 100012
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


def store_callback(callback: Callback) -> None:
    """Record the callback and apply its effect on the session, in one commit."""
    session = db_session()
    event = add_event(session, callback.uuid, "callback", str(callback.type), callback.payload)
    row = find_session(callback.uuid) if callback.uuid and callback.type in SESSION_TYPES else None
    if row is None and callback.type == LOGIN_SUCCESS and callback.uuid:
        row = LoginSession(uuid=callback.uuid, state=INITIALISED)
        session.add(row)
    if row is not None:
        _apply(row, callback)
    session.commit()
    prune_if_due(session, event.id)
    if row is not None and callback.type == LOGIN_SUCCESS:
        forget_other_sessions_of(row.vid or "", row.uuid)


def _apply(row: LoginSession, callback: Callback) -> None:
    payload = callback.payload
    code = callback.type
    cause = f"callback {code}"
    if code in (SCANNED, NEEDS_CODE):
        key = payload.get("Qrcode_key") or payload.get("qrcode_key") or payload.get("qrcodeKey")
        if key:
            row.qrcode_key = str(key)[:128]
        row.last_event = "need-code" if code == NEEDS_CODE else "scanned"
        if code == NEEDS_CODE:
            set_state(row, WAITING_CODE, cause, "enter the 6-digit code shown on the phone")
        else:
            set_state(row, WAITING_SCAN, cause, "scanned: confirm on the phone")
    elif code == CONFIRMED:
        row.last_event = "confirmed"
    elif code == CANCELLED:
        row.last_event = "scan-cancelled"
        set_state(row, WAITING_SCAN, cause, "the scan was cancelled on the phone")
    elif code == LOGIN_SUCCESS:
        _store_account(row, payload)
        row.qrcode = ""
        row.qrcode_expires_at = None
        row.last_event = "login-success"
        set_state(row, ONLINE, cause)
    elif code == SECONDARY_VERIFICATION:
        row.last_event = f"disconnect:{code}"
        reason = str(payload.get("msg") or DISCONNECTS[code])
        if row.state != NEEDS_PERSON:
            request_secondary_validation(row, cause, reason)
    elif code == QR_EXPIRED:
        row.last_event = f"disconnect:{code}"
        row.qrcode = ""
        row.qrcode_expires_at = None
        reason = str(payload.get("msg") or DISCONNECTS[code])
        # The instance is gone: a known account waits for a person to ask for a new QR code.
        set_state(row, NEEDS_PERSON if row.vid else OFFLINE, cause, reason)
    elif code in DISCONNECTS:
        row.last_event = f"disconnect:{code}"
        schedule_reconnect(row, cause, str(payload.get("msg") or DISCONNECTS[code]))


def _store_account(row: LoginSession, payload: dict) -> None:
    account = payload.get("user_id") or payload.get("Vid") or payload.get("vid")
    if account:
        row.vid = str(account)[:64]
    name = payload.get("realname") or payload.get("nickname") or payload.get("Nick_name") or ""
    row.account_name = str(name)[:128]
    row.corp_name = str(payload.get("corp_name") or payload.get("Corp_name") or "")[:128]
    row.avatar = str(payload.get("avatar") or payload.get("Icon_url") or "")[:512]
