"""Instances as the console manages them: the default one, and a person's help when an account needs it."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import WRITES, endpoint
from wxwork_demo.contract import instances as contract
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.services.instances.registry import activate_instance, instance_info, require_instance
from wxwork_demo.services.monitor import reconnect

bp = Blueprint("sessions", __name__, url_prefix="/api/sessions")


@bp.post("/activate")
@endpoint(body=contract.RequiredUuidBody, reply=contract.Activated, errors=(*WRITES, "404"), body_required=False)
def activate(body: contract.RequiredUuidBody) -> contract.Activated:
    """Make an instance the active one (the default of every `uuid`)"""
    return contract.Activated(active=instance_info(activate_instance(body.uuid)))


@bp.post("/reconnect")
@endpoint(body=contract.RequiredUuidBody, reply=contract.Reconnected, errors=(*WRITES, "404"))
def reconnect_now(body: contract.RequiredUuidBody) -> contract.Reconnected:
    """Bring a known account back now: init(vid), SetCallbackUrl, automaticLogin (else a new QR code)"""
    session = require_instance(body.uuid)
    if not session.vid:
        raise AppError(400, "this session never logged in (no vid): start a first login instead", field="uuid")
    back = reconnect.reconnect_now(session.id)
    db_session().expire_all()
    return contract.Reconnected(online=back, session=instance_info(db_session().get(type(session), session.id)))


@bp.post("/secondary-validation")
@endpoint(body=contract.RequiredUuidBody, reply=contract.SecondaryValidation, errors=(*WRITES, "404", "409"))
def secondary_validation(body: contract.RequiredUuidBody) -> contract.SecondaryValidation:
    """Fetch a new SecondaryValidation QR code for an account waiting for secondary verification"""
    session = require_instance(body.uuid)
    if session.state != "needs_person" or session.last_event != "disconnect:100012":
        raise AppError(409, f"no secondary verification pending (state {session.state})", field="uuid")
    reconnect.fetch_secondary_validation(session.id)
    db_session().expire_all()
    return contract.SecondaryValidation(session=instance_info(db_session().get(type(session), session.id)))
