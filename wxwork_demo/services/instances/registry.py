"""The `sessions` table: which instance is active, lookups by uuid or vid, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from wxwork_demo.contract.common import Account, CallbackHint, InstanceInfo
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError, BadInput
from wxwork_demo.models import Instance, iso_utc, table_of
from wxwork_demo.services.login.callback_reach import instance_hint
from wxwork_demo.services.monitor.notices import notice_to_dict

SESSIONS = table_of(Instance)
# Built once, on the table (no ORM entity to load): a send reads two columns of its row, not all of them.
_IDS = select(SESSIONS.c.uuid, SESSIONS.c.vid)
IDS_OF_UUID = _IDS.where(SESSIONS.c.uuid == bindparam("of_uuid"))
IDS_OF_ACTIVE = _IDS.order_by(SESSIONS.c.updated_at.desc(), SESSIONS.c.id.desc()).limit(1)


@dataclass(frozen=True)
class InstanceIds:
    """What a send needs of a session row: the instance's uuid, and its account's vid (see `account_key`)."""

    uuid: str
    vid: str | None


def active_instance() -> Instance | None:
    """The session most recently updated: what the API uses when a body names no uuid."""
    query = select(Instance).order_by(Instance.updated_at.desc(), Instance.id.desc()).limit(1)
    return db_session().scalars(query).first()


def find_instance(uuid: str) -> Instance | None:
    """The row as the database has it now (a callback may have changed it since this request loaded it)."""
    query = select(Instance).where(Instance.uuid == uuid).execution_options(populate_existing=True)
    return db_session().scalars(query).first()


def reread_instance(uuid: str) -> Instance | None:
    """The row as last committed, for a loop waiting on what callbacks write (the CLI waiting for a scan).

    The read transaction is ended first: under REPEATABLE READ (MySQL) it would keep showing its first
    snapshot. Nothing may be pending in the session (a read-only caller).
    """
    db_session().rollback()
    return find_instance(uuid)


def all_instances() -> list[Instance]:
    query = select(Instance).order_by(Instance.updated_at.desc(), Instance.id.desc())
    return list(db_session().scalars(query))


def account_key(row: Instance | InstanceIds) -> str:
    """What identifies the account behind an instance across reconnects (its vid; the uuid until it has one)."""
    return (row.vid or "") or row.uuid


def require_instance(uuid: str) -> Instance:
    """The session for `uuid` (or the active one when `uuid` is empty), else a 400/404 naming the field."""
    found = find_instance(uuid) if uuid else active_instance()
    if found is None:
        raise _not_found(uuid)
    return found


def require_instance_ids(uuid: str) -> InstanceIds:
    """`require_instance`'s answer and errors, reading only the uuid and vid (a send needs nothing else).

    A Core read of two columns: the ORM's read of the whole row was over a quarter of a send-text's CPU. It
    reads the database as it is now, like `find_instance` (nothing is kept between requests).
    """
    connection = db_session().connection()
    if uuid:
        found = connection.execute(IDS_OF_UUID, {"of_uuid": uuid}).first()
    else:
        found = connection.execute(IDS_OF_ACTIVE).first()
    if found is None:
        raise _not_found(uuid)
    return InstanceIds(uuid=found.uuid, vid=found.vid)


def _not_found(uuid: str) -> AppError:
    if uuid:
        message = f"unknown session uuid {uuid!r}: call /api/init first"
        return AppError(404, message, code="unknown_instance", field="uuid")
    message = "uuid is required: there is no active session yet (call /api/init first)"
    return BadInput("uuid", message, code="no_active_instance")


def save_instance(uuid: str, **fields: Any) -> Instance:
    """Create or update the row of `uuid` with `fields` in the unit of work (its owner commits it)."""
    session = db_session()
    row = find_instance(uuid)
    if row is None:
        row = Instance(uuid=uuid)
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    return row


def instance_info(row: Instance | None) -> InstanceInfo:
    """The row as the API shows it (empty strings and false when there is none)."""
    if row is None:
        return InstanceInfo()
    return InstanceInfo(
        uuid=row.uuid,
        vid=row.vid or "",
        is_login=bool(row.is_login),
        qrcode=row.qrcode or "",
        qrcode_key=row.qrcode_key or "",
        last_event=row.last_event or "",
        last_error=row.last_error or "",
        updated_at=iso_utc(row.updated_at),
        state=row.state or "initialised",
        state_reason=row.state_reason or "",
        account=Account(name=row.account_name or "", corp=row.corp_name or "", avatar=row.avatar or ""),
        qrcode_expires_at=iso_utc(row.qrcode_expires_at),
        reconnect_attempts=row.reconnect_attempts or 0,
        next_action_at=iso_utc(row.next_action_at),
        notice=notice_to_dict(row),
        silent_since=iso_utc(row.silent_since),
        callback_hint=_callback_hint(row),
    )


def _callback_hint(row: Instance) -> CallbackHint | None:
    found = instance_hint(row)
    return CallbackHint(**found.to_dict()) if found else None


def instance_to_dict(row: Instance | None) -> dict[str, Any]:
    """`instance_info` as its JSON."""
    return instance_info(row).to_json()


def activate_instance(uuid: str) -> Instance:
    """Make `uuid` the active session, i.e. the most recently updated one; 404 when it is unknown.

    The new `updated_at` is strictly later than every other row's, whole seconds: MySQL's DATETIME keeps
    no fraction (and rounds it), so two rows touched in the same second would otherwise tie.
    """
    from datetime import timedelta

    from sqlalchemy import func

    from wxwork_demo.models import utcnow

    row = find_instance(uuid)
    if row is None:
        raise AppError(404, f"unknown session uuid {uuid!r}", code="unknown_instance", field="uuid")
    newest = db_session().scalar(select(func.max(Instance.updated_at)).where(Instance.uuid != uuid))
    moment = utcnow().replace(microsecond=0)
    if newest is not None and newest >= moment:
        moment = newest.replace(microsecond=0) + timedelta(seconds=1)
    row.updated_at = moment
    db_session().commit()
    return row
