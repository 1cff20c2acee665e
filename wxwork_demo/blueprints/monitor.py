"""Turn the background monitor on and off in this process."""

from __future__ import annotations

from flask import Blueprint, current_app

from wxwork_demo.blueprints.edge import WRITES, endpoint
from wxwork_demo.contract import monitor as contract
from wxwork_demo.services.monitor.runtime import start_monitor, stop_monitor

bp = Blueprint("monitor", __name__, url_prefix="/api/monitor")


@bp.post("/start")
@endpoint(body=contract.NoBody, reply=contract.MonitorStarted, errors=WRITES)
def start(body: contract.NoBody) -> contract.MonitorStarted:
    """Turn the background monitor on"""
    status = start_monitor(current_app._get_current_object())
    started = contract.Started(enabled=status["enabled"], interval_ms=status["intervalMs"])
    return contract.MonitorStarted(monitor=started)


@bp.post("/stop")
@endpoint(body=contract.NoBody, reply=contract.MonitorStopped, errors=WRITES)
def stop(body: contract.NoBody) -> contract.MonitorStopped:
    """Turn the background monitor off"""
    status = stop_monitor(current_app._get_current_object())
    return contract.MonitorStopped(monitor=contract.Stopped(enabled=status["enabled"]))
