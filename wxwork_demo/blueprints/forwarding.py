"""Forwarding over HTTP: `GET /api/deliveries`, `POST /api/deliveries/replay`, `POST /api/forward/test`."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.errors import BadInput
from wxwork_demo.services.forwarding import probe, reports
from wxwork_demo.services.forwarding.outbox import STATUSES
from wxwork_demo.validation import parse_positive_int

bp = Blueprint("forwarding", __name__, url_prefix="/api")

MAX_REPLAY_IDS = 1000


@bp.get("/deliveries")
def list_deliveries():
    status = request.args.get("status", "").strip()
    if status and status not in STATUSES:
        raise BadInput("status", f"status must be one of {', '.join(STATUSES)}")
    after = request.args.get("after", "").strip()
    if after and not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise BadInput("after", "after must be a delivery id (digits)")
    target = request.args.get("target", "").strip()
    if len(target) > 255:
        raise BadInput("target", "target must be at most 255 characters")
    limit = parse_positive_int(request.args.get("limit"), "limit", default=50, maximum=500)
    return jsonify(ok=True, **reports.deliveries(status or None, target or None, int(after or 0), limit))


@bp.post("/deliveries/replay")
def replay():
    body = json_body(allow_empty=False)
    ids, status = body.get("ids"), body.get("status")
    if ids is None and status is None:
        raise BadInput("ids", 'give "ids": [delivery ids] or "status": "dead"')
    if ids is not None:
        if not isinstance(ids, list) or len(ids) > MAX_REPLAY_IDS:
            raise BadInput("ids", f"ids must be a list of at most {MAX_REPLAY_IDS} delivery ids")
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids):
            raise BadInput("ids", "ids must be delivery ids (positive integers)")
    if status is not None and status not in STATUSES:
        raise BadInput("status", f"status must be one of {', '.join(STATUSES)}")
    return jsonify(ok=True, requeued=reports.replay(ids, status))


@bp.post("/forward/test")
def forward_test():
    json_body()  # no fields; read so that a wrong or oversized body is refused like everywhere else
    results = probe.send_test(current_app.config)
    return jsonify(ok=all(result["error"] == "" for result in results) and bool(results), targets=results)
