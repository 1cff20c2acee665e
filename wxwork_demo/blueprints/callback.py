"""The webhook the upstream posts to. It answers `{"errcode": 0}` only once the event is stored."""

from __future__ import annotations

from flask import Blueprint, Response, request

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.services.callbacks import check_sender, parse_callback, store_callback

bp = Blueprint("callback", __name__)
# The answers, serialised once: the webhook is the busiest route.
STORED = b'{"errcode":0,"errmsg":"ok"}'
DUPLICATE = b'{"errcode":0,"errmsg":"ok","duplicate":true}'


@bp.post("/callback/wxwork")
def receive():
    check_sender(request.args.get("token", ""), request.remote_addr)
    callback = parse_callback(json_body(allow_empty=False))
    body = STORED if store_callback(callback) else DUPLICATE
    return Response(body, mimetype="application/json")
