"""The monitor's switch, for every process: the process holding the monitor's lease acts on it
(services/monitor/runtime.py); a request never starts a scheduler in the worker that took it."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import WRITES, endpoint
from wxwork_demo.contract import monitor as contract
from wxwork_demo.services.monitor.runtime import switch_monitor

bp = Blueprint("monitor", __name__, url_prefix="/api/monitor")


@bp.post("/start")
@endpoint(body=contract.NoBody, reply=contract.MonitorStarted, errors=WRITES)
def start(body: contract.NoBody) -> contract.MonitorStarted:
    """Turn the background monitor on (the process holding its lease starts checking within a tick)"""
    status = switch_monitor(True)
    started = contract.Started(enabled=status["enabled"], interval_ms=status["intervalMs"])
    return contract.MonitorStarted(monitor=started)


@bp.post("/stop")
@endpoint(body=contract.NoBody, reply=contract.MonitorStopped, errors=WRITES)
def stop(body: contract.NoBody) -> contract.MonitorStopped:
    """Turn the background monitor off"""
    status = switch_monitor(False)
    return contract.MonitorStopped(monitor=contract.Stopped(enabled=status["enabled"]))
