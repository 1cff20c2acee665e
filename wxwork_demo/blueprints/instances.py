"""Sessions as the console manages them: the default one, and a person's help when an account needs it."""

from __future__ import annotations

from flask import Blueprint, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.services.instances.registry import activate_instance, instance_to_dict, require_instance
from wxwork_demo.services.monitor import reconnect
from wxwork_demo.validation import required_str

bp = Blueprint("sessions", __name__, url_prefix="/api/sessions")


@bp.post("/activate")
def activate():
    uuid = required_str(json_body(), "uuid", max_length=64)
    return jsonify(ok=True, active=instance_to_dict(activate_instance(uuid)))


@bp.post("/reconnect")
def reconnect_now():
    """init(vid) → SetCallbackUrl → automaticLogin now; a refusal leaves a fresh QR code to scan."""
    session = require_instance(required_str(json_body(), "uuid", max_length=64))
    if not session.vid:
        raise AppError(400, "this session never logged in (no vid): start a first login instead", field="uuid")
    back = reconnect.reconnect_now(session.id)
    db_session().expire_all()
    return jsonify(ok=True, online=back, session=instance_to_dict(db_session().get(type(session), session.id)))


@bp.post("/secondary-validation")
def secondary_validation():
    """Fetch a new SecondaryValidation QR (the account is waiting for secondary verification)."""
    session = require_instance(required_str(json_body(), "uuid", max_length=64))
    if session.state != "needs_person" or session.last_event != "disconnect:100012":
        raise AppError(409, f"no secondary verification pending (state {session.state})", field="uuid")
    reconnect.fetch_secondary_validation(session.id)
    db_session().expire_all()
    return jsonify(ok=True, session=instance_to_dict(db_session().get(type(session), session.id)))
