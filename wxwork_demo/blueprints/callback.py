"""The webhook the upstream posts to. It answers `{"errcode": 0}` only once the event is stored."""

from __future__ import annotations

from flask import Blueprint, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.services.callbacks import parse_callback, store_callback
from wxwork_demo.services.monitor import reconnect_soon

bp = Blueprint("callback", __name__)


@bp.post("/callback/wxwork")
def receive():
    callback = parse_callback(json_body(allow_empty=False))
    dropped_session_id = store_callback(callback)
    if dropped_session_id is not None:
        reconnect_soon(dropped_session_id)
    return jsonify(errcode=0, errmsg="ok")
