"""Turn the background monitor on and off in this process."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.services.monitor.runtime import start_monitor, stop_monitor

bp = Blueprint("monitor", __name__, url_prefix="/api/monitor")


@bp.post("/start")
def start():
    json_body()  # nothing to read, but a malformed or oversized body is still refused (400/413)
    status = start_monitor(current_app._get_current_object())
    return jsonify(ok=True, monitor={"enabled": status["enabled"], "intervalMs": status["intervalMs"]})


@bp.post("/stop")
def stop():
    json_body()
    status = stop_monitor(current_app._get_current_object())
    return jsonify(ok=True, monitor={"enabled": status["enabled"]})
