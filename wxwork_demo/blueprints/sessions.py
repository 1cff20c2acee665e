"""Sessions as the console manages them: choose which one the API uses by default."""

from __future__ import annotations

from flask import Blueprint, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.services.sessions import activate_session, session_to_dict
from wxwork_demo.validation import required_str

bp = Blueprint("sessions", __name__, url_prefix="/api/sessions")


@bp.post("/activate")
def activate():
    uuid = required_str(json_body(), "uuid", max_length=64)
    return jsonify(ok=True, active=session_to_dict(activate_session(uuid)))
