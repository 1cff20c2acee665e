"""Reads: health, readiness, upstream reachability, current state, the events log."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify

from wxwork_demo.access import caller_identified
from wxwork_demo.blueprints.edge import READS, endpoint
from wxwork_demo.config import current_settings
from wxwork_demo.contract import status as contract
from wxwork_demo.contract.common import CallbackHint, EventInfo, MonitorStatus
from wxwork_demo.services.events import count_events, event_to_dict, latest_events
from wxwork_demo.services.instances.registry import active_instance, all_instances, instance_info
from wxwork_demo.services.login.callback_reach import settings_hint
from wxwork_demo.services.login.simulator_link import simulator_page
from wxwork_demo.services.monitor.runtime import monitor_status
from wxwork_demo.services.operations.readiness import readiness
from wxwork_demo.services.upstream_calls import check_upstream

bp = Blueprint("status", __name__, url_prefix="/api")


@bp.get("/health")
@endpoint(reply=contract.Health)
def health() -> contract.Health:
    """Liveness; needs neither the database nor credentials"""
    return contract.Health(
        now=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        base_url=current_settings().base_url,
        callback_url=current_settings().callback_url if caller_identified() else "",
    )


@bp.get("/ready")
@endpoint(reply=contract.Ready, errors=("503",))
def ready() -> contract.Ready | tuple[Response, int]:
    """Readiness: the database answers, its tables are at this version's migration, the upstream answers (503
    naming what is missing otherwise); needs no credentials"""
    checks = readiness()
    detailed = caller_identified()
    failed = [name for name, check in checks.items() if not check.ok]
    shown = {
        name: contract.ReadyCheck(ok=check.ok, message=check.message if detailed else None)
        for name, check in checks.items()
    }
    if not failed:
        return contract.Ready(ok=True, ready=True, checks=shown)
    if detailed:
        message = "not ready: " + "; ".join(f"{name}: {checks[name].message}" for name in failed)
    else:
        message = f"not ready: {', '.join(failed)}"
    reply = contract.Ready(ok=False, ready=False, checks=shown, message=message, code="not_ready")
    return jsonify(reply.to_json()), 503


@bp.get("/upstream-check")
@endpoint(reply=contract.UpstreamCheck, errors=READS)
def upstream_check() -> contract.UpstreamCheck:
    """Ping the upstream with GetRunClient; `ok` says whether it answered"""
    return check_upstream()


@bp.get("/state")
@endpoint(reply=contract.State, errors=READS)
def state() -> contract.State:
    """The active instance, every instance, the monitor and the events count"""
    return contract.State(
        active=instance_info(active_instance()),
        sessions=[instance_info(row) for row in all_instances()],
        monitor=MonitorStatus.model_validate(monitor_status()),
        events_count=count_events(),
        base_url=current_settings().base_url,
        callback_url=current_settings().callback_url,
        callback_problem=_callback_problem(),
        simulator_url=simulator_page() or None,
    )


def _callback_problem() -> CallbackHint | None:
    found = settings_hint()
    return CallbackHint(**found.to_dict()) if found else None


@bp.get("/events")
@endpoint(query=contract.EventsQuery, reply=contract.Events, errors=("400", *READS))
def events(query: contract.EventsQuery) -> contract.Events:
    """The newest events first, at most MAX_EVENTS"""
    found = latest_events(after_id=query.after, session_uuid=query.session, stage=query.stage, event_type=query.type)
    return contract.Events(events=[EventInfo.model_validate(event_to_dict(event)) for event in found])
