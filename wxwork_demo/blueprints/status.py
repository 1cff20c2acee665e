"""Reads: health, upstream reachability, current state, the events log."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from wxwork_demo.errors import BadInput
from wxwork_demo.services.events import count_events, event_to_dict, latest_events
from wxwork_demo.services.instances.registry import active_instance, all_instances, instance_to_dict
from wxwork_demo.services.monitor.runtime import monitor_status
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import UpstreamError

bp = Blueprint("status", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    return jsonify(
        ok=True,
        now=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        baseUrl=current_app.config["BASE_URL"],
        callbackUrl=current_app.config["CALLBACK_URL"],
    )


@bp.get("/upstream-check")
def upstream_check():
    base_url = current_app.config["BASE_URL"]
    try:
        reply = traced("upstream_check", "", client().get_run_client)
    except UpstreamError as exc:
        body = {"ok": False, "status": exc.http_status or exc.status, "baseUrl": base_url, "message": exc.message}
        body["raw"] = exc.raw
        return jsonify(body)
    return jsonify(ok=True, status=200, baseUrl=base_url, raw=reply.envelope)


@bp.get("/state")
def state():
    return jsonify(
        active=instance_to_dict(active_instance()),
        sessions=[instance_to_dict(row) for row in all_instances()],
        monitor=monitor_status(),
        eventsCount=count_events(),
        baseUrl=current_app.config["BASE_URL"],
        callbackUrl=current_app.config["CALLBACK_URL"],
    )


@bp.get("/events")
def events():
    filters = {
        "session_uuid": request.args.get("session", ""),
        "stage": request.args.get("stage", ""),
        "event_type": request.args.get("type", ""),
    }
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise BadInput("after", "after must be an event id (digits)")
    return jsonify(events=[event_to_dict(event) for event in latest_events(after_id=int(after), **filters)])
