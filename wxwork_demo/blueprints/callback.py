"""The webhook the upstream posts to. It answers `{"errcode": 0}` only once the event is stored."""

from __future__ import annotations

from flask import Blueprint, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.services.callbacks import parse_callback, store_callback

bp = Blueprint("callback", __name__)


@bp.post("/callback/wxwork")
def receive():
    callback = parse_callback(json_body(allow_empty=False))
    store_callback(callback)
    return jsonify(errcode=0, errmsg="ok")
