"""The `sessions` table: which instance is active, lookups by uuid or vid, and their JSON form."""

from __future__ import annotations

from sqlalchemy import delete, select

from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError, BadInput
from wxwork_demo.models import LoginSession, iso_utc

EMPTY_SESSION: dict = {
    "uuid": "",
    "vid": "",
    "isLogin": False,
    "qrcode": "",
    "qrcodeKey": "",
    "lastEvent": "",
    "lastError": "",
    "updatedAt": "",
    "state": "",
    "stateReason": "",
    "account": {"name": "", "corp": "", "avatar": ""},
    "qrcodeExpiresAt": "",
    "reconnectAttempts": 0,
    "nextActionAt": "",
}


def active_session() -> LoginSession | None:
    """The session most recently updated: what the API uses when a body names no uuid."""
    query = select(LoginSession).order_by(LoginSession.updated_at.desc(), LoginSession.id.desc()).limit(1)
    return db_session().scalars(query).first()


def find_session(uuid: str) -> LoginSession | None:
    """The row as the database has it now (a callback may have changed it since this request loaded it)."""
    query = select(LoginSession).where(LoginSession.uuid == uuid).execution_options(populate_existing=True)
    return db_session().scalars(query).first()


def all_sessions() -> list[LoginSession]:
    query = select(LoginSession).order_by(LoginSession.updated_at.desc(), LoginSession.id.desc())
    return list(db_session().scalars(query))


def require_session(uuid: str) -> LoginSession:
    """The session for `uuid` (or the active one when `uuid` is empty), else a 400/404 naming the field."""
    if uuid:
        found = find_session(uuid)
        if found is None:
            raise AppError(404, f"unknown session uuid {uuid!r}: call /api/init first", field="uuid")
        return found
    found = active_session()
    if found is None:
        raise BadInput("uuid", "uuid is required: there is no active session yet (call /api/init first)")
    return found


def save_session(uuid: str, **fields) -> LoginSession:
    """Create or update the row of `uuid` with `fields`, and commit."""
    session = db_session()
    row = find_session(uuid)
    if row is None:
        row = LoginSession(uuid=uuid)
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    session.commit()
    return row


def forget_other_sessions_of(vid: str, keep_uuid: str) -> None:
    """An account logged in on a new instance: its older rows describe dead instances."""
    if not vid:
        return
    session = db_session()
    session.execute(delete(LoginSession).where(LoginSession.vid == vid, LoginSession.uuid != keep_uuid))
    session.commit()


def session_to_dict(row: LoginSession | None) -> dict:
    if row is None:
        return {**EMPTY_SESSION, "account": dict(EMPTY_SESSION["account"])}
    return {
        "uuid": row.uuid,
        "vid": row.vid or "",
        "isLogin": bool(row.is_login),
        "qrcode": row.qrcode or "",
        "qrcodeKey": row.qrcode_key or "",
        "lastEvent": row.last_event or "",
        "lastError": row.last_error or "",
        "updatedAt": iso_utc(row.updated_at),
        "state": row.state or "initialised",
        "stateReason": row.state_reason or "",
        "account": {"name": row.account_name or "", "corp": row.corp_name or "", "avatar": row.avatar or ""},
        "qrcodeExpiresAt": iso_utc(row.qrcode_expires_at),
        "reconnectAttempts": row.reconnect_attempts or 0,
        "nextActionAt": iso_utc(row.next_action_at),
    }


def activate_session(uuid: str) -> LoginSession:
    """Make `uuid` the active session, i.e. the most recently updated one; 404 when it is unknown.

    The new `updated_at` is strictly later than every other row's, whole seconds: MySQL's DATETIME keeps
    no fraction (and rounds it), so two rows touched in the same second would otherwise tie.
    """
    from datetime import timedelta

    from sqlalchemy import func

    from wxwork_demo.models import utcnow

    row = find_session(uuid)
    if row is None:
        raise AppError(404, f"unknown session uuid {uuid!r}", field="uuid")
    newest = db_session().scalar(select(func.max(LoginSession.updated_at)).where(LoginSession.uuid != uuid))
    moment = utcnow().replace(microsecond=0)
    if newest is not None and newest >= moment:
        moment = newest.replace(microsecond=0) + timedelta(seconds=1)
    row.updated_at = moment
    db_session().commit()
    return row
