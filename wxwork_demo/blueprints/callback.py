"""The webhook the upstream posts to. It answers `{"errcode": 0}` only once the event is stored."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.services.callbacks import check_sender, parse_callback, store_callback

bp = Blueprint("callback", __name__)


@bp.post("/callback/wxwork")
def receive():
    check_sender(request.args.get("token", ""), request.remote_addr)
    callback = parse_callback(json_body(allow_empty=False))
    if not store_callback(callback):
        return jsonify(errcode=0, errmsg="ok", duplicate=True)
    return jsonify(errcode=0, errmsg="ok")
