"""The background monitor: checks that accounts are online and carries out the reconnect policy.

The monitor's switch is a database flag (the lease row): `POST /api/monitor/start|stop` sets it and does
nothing else (`switch_monitor`). A scheduler runs only where the deployment puts one: in each gunicorn worker
with MONITOR_AUTOSTART (`autostart_monitor`), or in its own process (`wxwork monitor run`,
`start_dedicated_monitor`); never in whichever web worker took a request. Every such process has three jobs,
and only the holder of the database lease (services/monitor/lease.py), which is held only while the switch is
on, does any work:

- lease, every tick: take or renew the lease;
- check, every MONITOR_INTERVAL_MS: act on transient states past their deadline (monitor/deadlines.py),
  then GetRunClientByUuid for each online account, with bounded
  concurrency, each check in its own app context and database session; re-register callback URLs
  that are due; a dead account is scheduled for reconnect;
- tick, every MONITOR_TICK_MS: run the due actions (reconnects, secondary-validation QR codes).

A process that takes the lease (the switch was just turned on, or the last holder went away) runs a check pass
at once. The scheduler is Flask-APScheduler's extension over APScheduler's BackgroundScheduler, started through
that underlying scheduler: the extension's own `start()` silently does nothing when FLASK_DEBUG is set outside
the reloader (it guards against the reloader's second process running the jobs twice, which the database lease
already prevents), so the monitor runs the same under debug as without.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

from flask import Flask, current_app
from sqlalchemy import func, select

from wxwork_demo.config import current_settings, settings_of
from wxwork_demo.db import db_session
from wxwork_demo.models import Event, Instance, iso_utc, utcnow
from wxwork_demo.services.events import add_event, record_event
from wxwork_demo.services.forwarding.worker import start_worker, stop_worker
from wxwork_demo.services.instances.state import ONLINE, RECONNECTING
from wxwork_demo.services.login.callback_url import registered_callback_url, shown_callback_url
from wxwork_demo.services.monitor import alerts, deadlines, reconnect, secondary
from wxwork_demo.services.monitor import lease as monitor_lease
from wxwork_demo.services.monitor.lease import FORWARDER_LEASE, LEASE_NAME
from wxwork_demo.services.upstream_calls import client, record_outcome
from wxwork_demo.upstream import UpstreamError, UpstreamRefused, is_logged_in

if TYPE_CHECKING:  # imported where a scheduler starts: a web worker without the monitor never loads it (2.3 MB)
    from flask_apscheduler import APScheduler

log = logging.getLogger(__name__)
Args = TypeVarTuple("Args")
T = TypeVar("T")

EXTENSION_KEY = "wxwork_monitor"
LEASE_JOB, CHECK_JOB, TICK_JOB = "monitor-lease", "monitor-check", "monitor-tick"


@dataclass
class MonitorRuntime:
    """This process's scheduler and whether it holds the lease."""

    scheduler: APScheduler | None = None
    holding: bool = False
    # Whether this process holds the forwarder's lease (its delivery worker sends only then).
    forwarding: bool = False
    forwarder_row: bool = False  # the forwarder's lease row is known to exist
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def register_monitor(app: Flask) -> None:
    """Attach the (idle) runtime; nothing starts until `autostart_monitor` or `start_dedicated_monitor`."""
    app.extensions[EXTENSION_KEY] = MonitorRuntime()


def runtime(app: Flask | None = None) -> MonitorRuntime:
    found = (app or current_app).extensions.get(EXTENSION_KEY)
    if not isinstance(found, MonitorRuntime):
        raise RuntimeError("this Flask app has no monitor runtime: build it with wxwork_demo.create_app")
    return found


def switch_monitor(enabled: bool) -> dict[str, Any]:
    """Turn the monitor on or off for every process: the switch in the database, and nothing else.

    The process holding the lease acts on it within a tick. No scheduler is started here: the request may
    have reached one web worker of many, or a web worker of a deployment whose monitor is its own process.
    """
    monitor_lease.set_enabled(enabled)
    return monitor_status()


def autostart_monitor(app: Flask) -> None:
    """MONITOR_AUTOSTART (a gunicorn worker, after the fork): run a scheduler here; the switch is on unless
    someone turned it off before."""
    with app.app_context():
        monitor_lease.ensure_switch(default_enabled=True)
    start_scheduler(app)


def start_dedicated_monitor(app: Flask) -> dict[str, Any]:
    """`wxwork monitor run`: the deployment's monitor process turns the switch on and runs a scheduler."""
    monitor_lease.set_enabled(True)
    start_scheduler(app)
    return monitor_status()


def start_scheduler(app: Flask) -> None:
    """Run this process's scheduler: a candidate for the lease, working only while it holds it."""
    state = runtime(app)
    settings = settings_of(app)
    with state.lock:
        if state.scheduler is not None:
            return
        from apscheduler.schedulers.background import BackgroundScheduler
        from flask_apscheduler import APScheduler

        scheduler = APScheduler(scheduler=BackgroundScheduler())
        scheduler.init_app(app)  # configures the scheduler from SCHEDULER_* keys (none): ours come after
        scheduler.scheduler.configure(daemon=True, timezone=UTC)
        tick_s = settings.monitor_tick_ms / 1000
        jobs = (
            (LEASE_JOB, _lease_job, tick_s),
            (CHECK_JOB, _check_job, settings.monitor_interval_ms / 1000),
            (TICK_JOB, _tick_job, tick_s),
        )
        for job_id, func_, seconds in jobs:
            scheduler.add_job(
                job_id,
                func_,
                trigger="interval",
                args=(app,),
                seconds=seconds,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),  # first run at once, then every `seconds`
            )
        scheduler.scheduler.start()  # not scheduler.start(): see the module's docstring
        state.scheduler = scheduler
    # The forwarding delivery worker lives where the monitor does, and delivers while this process holds the
    # forwarder's lease, which the monitor's switch does not touch: stored messages are delivered with the
    # monitor off too (a dedicated `flask forward run` delivers always; claims keep them apart).
    start_worker(app, gate=lambda: runtime(app).forwarding)


def shutdown_monitor(app: Flask) -> None:
    """Stop this process's scheduler and delivery worker, and hand the lease back."""
    stop_worker(app)
    state = runtime(app)
    with state.lock:
        if state.scheduler is None:
            return
        state.scheduler.shutdown(wait=True)
        state.scheduler = None
    held = [name for name, on in ((LEASE_NAME, state.holding), (FORWARDER_LEASE, state.forwarding)) if on]
    if held:
        with app.app_context():
            try:
                for name in held:
                    monitor_lease.release(name)
            except Exception:  # the database may be what is going away
                log.warning("could not release the monitor's leases", exc_info=True)
        state.holding = state.forwarding = False


def _lease_job(app: Flask) -> None:
    state = runtime(app)
    with app.app_context():
        try:
            holding = monitor_lease.hold(_lease_ttl(app))
        except Exception:
            holding = False
            log.exception("monitor lease renewal failed")
        try:
            if not state.forwarder_row:
                monitor_lease.ensure_switch(True, name=FORWARDER_LEASE)
                state.forwarder_row = True
            state.forwarding = monitor_lease.hold(_lease_ttl(app), name=FORWARDER_LEASE)
        except Exception:
            state.forwarding = False
            log.exception("forwarder lease renewal failed")
    if holding and not state.holding:
        _check_soon(state)  # a new holder checks at once (start_pass keeps it to one pass per interval)
    state.holding = holding


def _check_soon(state: MonitorRuntime) -> None:
    scheduler = state.scheduler
    if scheduler is None:
        return
    from apscheduler.jobstores.base import JobLookupError  # loaded with the scheduler

    with contextlib.suppress(JobLookupError):  # the scheduler is shutting down
        scheduler.modify_job(CHECK_JOB, next_run_time=datetime.now(UTC))


def _check_job(app: Flask) -> None:
    if not runtime(app).holding:
        return
    with app.app_context():
        try:
            if monitor_lease.start_pass(settings_of(app).monitor_interval_ms / 1000):
                check_pass(app)
        except Exception:
            log.exception("monitor pass failed")


def _tick_job(app: Flask) -> None:
    if not runtime(app).holding:
        return
    with app.app_context():
        try:
            run_due_actions(app)
        except Exception:
            log.exception("monitor tick failed")


def _lease_ttl(app: Flask) -> float:
    return max(settings_of(app).monitor_lease_s, 3 * settings_of(app).monitor_tick_ms / 1000)


def _in_context(app: Flask, work: Callable[[*Args], T], *args: *Args) -> T | None:
    """Run `work` in its own app context, so it has its own database session."""
    with app.app_context():
        try:
            return work(*args)
        except Exception:
            log.exception("monitor task %s%s failed", getattr(work, "__name__", work), args)
            return None


def online_accounts() -> list[int]:
    """Sessions the monitor keeps online: logged-in accounts."""
    query = select(Instance.id).where(Instance.state == ONLINE, Instance.vid != "")
    return list(db_session().scalars(query))


def check_pass(app: Flask) -> dict[str, Any]:
    """Act on overdue transient states, then check every online account, MONITOR_CONCURRENCY at a time.
    Returns counts."""
    overdue = deadlines.act_on_overdue()
    ids = online_accounts()
    results = each_at_most(
        settings_of(app).monitor_concurrency, lambda session_id: _in_context(app, check_account, session_id), ids
    )
    monitor_lease.finish_pass()
    summary = {
        "checked": len(ids),
        "offline": results["offline"],
        "unknown": results["unknown"],
        "overdue": overdue,
    }
    if summary["offline"] or summary["unknown"] or summary["overdue"]:
        record_event("", "monitor_check", "pass", summary)
    return summary


def each_at_most(concurrency: int, work: Callable[[int], str | None], ids: Iterable[int]) -> Counter[str | None]:
    """Run `work` on every id, `concurrency` at a time; count what it returned.

    Each of `concurrency` threads takes the next id when it is done with one, so what is held stays the same
    whatever the number of accounts (a pool.map over 20,000 accounts held 20,000 futures at once, about 28 MB).
    """
    left = iter(ids)
    taking = threading.Lock()

    def take_until_none_left() -> Counter[str | None]:
        counts: Counter[str | None] = Counter()
        while True:
            with taking:
                session_id = next(left, None)
            if session_id is None:
                return counts
            counts[work(session_id)] += 1

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check") as pool:
        threads = [pool.submit(take_until_none_left) for _ in range(concurrency)]
        return sum((thread.result() for thread in threads), Counter())


def check_account(session_id: int) -> str:
    """ "online", "offline" (a reconnect is scheduled) or "unknown" (the upstream could not say)."""
    session = db_session()
    row = session.get(Instance, session_id)
    if row is None or row.state != ONLINE:
        return "skipped"
    api = client()
    try:
        reply = api.get_run_client_by_uuid(row.uuid)
        online, reason = is_logged_in(reply.data), "upstream reports the instance is not logged in"
    except UpstreamRefused as exc:
        if secondary.is_secondary_verification(exc):
            # Pending secondary verification, not offline: a re-init would be the wrong cure.
            record_outcome("monitor_check", row.uuid, exc)
            return "needs_person"
        online, reason = False, exc.errmsg or f"errcode {exc.errcode}"
    except UpstreamError as exc:
        # An upstream that cannot answer says nothing about the account: never reconnect on that.
        record_outcome("monitor_check", row.uuid, exc)
        return "unknown"
    if not online:
        reconnect.schedule_reconnect(row, "check", reason)
        session.commit()
        return "offline"
    _refresh_callback_if_due(row)
    _note_silence(row)
    return "online"


def _note_silence(row: Instance) -> None:
    """Online but deaf: the upstream says online, yet no callback came for SILENCE_ALERT_S (peers' users
    report this more than any other failure). Flag it (`silentSince`) with one alert; clear it when one comes.

    The last callback is read from the events log; one pruned away by MAX_EVENTS counts as none.
    """
    session = db_session()
    limit = timedelta(seconds=current_settings().silence_alert_s)
    if row.silent_since is None and row.state_changed_at is not None and utcnow() - row.state_changed_at <= limit:
        return  # online for less than the limit: cannot be silent yet, and no query is spent on finding out
    last_callback = session.scalar(
        select(func.max(Event.created_at)).where(Event.session_uuid == row.uuid, Event.stage == "callback")
    )
    moments = [t for t in (last_callback, row.state_changed_at) if t is not None]
    quiet_since = max(moments) if moments else None
    silent = quiet_since is not None and utcnow() - quiet_since > limit
    if silent and row.silent_since is None:
        row.silent_since = quiet_since
        add_event(session, row.uuid, "monitor_check", "silent", {"silentSince": iso_utc(quiet_since)})
        session.commit()
        alerts.alert_silence(row.id, iso_utc(quiet_since))
    elif not silent and row.silent_since is not None:
        row.silent_since = None
        session.commit()


def _refresh_callback_if_due(row: Instance) -> None:
    """The upstream can forget a callback registration: register it again every CALLBACK_REFRESH_S."""
    settings = current_settings()
    due_before = utcnow() - timedelta(seconds=settings.callback_refresh_s)
    if row.callback_registered_at is not None and row.callback_registered_at > due_before:
        return
    try:
        client().set_callback_url(row.uuid, registered_callback_url())
    except UpstreamError as exc:
        record_outcome("monitor_check", row.uuid, exc)
        return
    row.callback_registered_at = utcnow()
    url = shown_callback_url(registered_callback_url())
    add_event(db_session(), row.uuid, "monitor_set_callback", "callback-refreshed", {"url": url})
    db_session().commit()


def run_due_actions(app: Flask) -> int:
    """Claim and run what is due (reconnects, secondary-validation QR codes), a few at a time."""
    due = reconnect.due_actions()
    claimed = [(sid, action, until) for sid, action in due if (until := reconnect.claim(sid, action))]
    if claimed:
        with ThreadPoolExecutor(max_workers=settings_of(app).monitor_concurrency, thread_name_prefix="act") as pool:
            list(pool.map(lambda item: _in_context(app, reconnect.run_action, *item), claimed))
    return len(claimed)


def monitor_status() -> dict[str, Any]:
    """What /api/state shows: the switch, the owner, the last pass and reconnect, in every process alike."""
    lease = monitor_lease.lease_row()
    reconnecting = db_session().scalar(select(func.count()).select_from(Instance).where(Instance.state == RECONNECTING))
    scheduler = runtime().scheduler
    scheduler_here = scheduler is not None and scheduler.running
    if lease is None:
        return {
            "enabled": False,
            "running": False,
            "lastCheckAt": "",
            "lastReconnectAt": "",
            "reconnecting": bool(reconnecting),
            "intervalMs": current_settings().monitor_interval_ms,
            "owner": "",
            "schedulerHere": scheduler_here,
        }
    # Only a live holder works: a pass its process never finished (it died) is not running, and a switch that
    # is on with no holder (no process runs a scheduler) shows as on with no `owner`, never as running.
    owner = monitor_lease.current_owner() if lease.enabled else ""
    running = bool(
        owner
        and lease.pass_started_at
        and (not lease.pass_finished_at or lease.pass_started_at > lease.pass_finished_at)
    )
    return {
        "enabled": bool(lease.enabled),
        "running": running,
        "lastCheckAt": iso_utc(lease.pass_finished_at),
        "lastReconnectAt": iso_utc(lease.last_reconnect_at),
        "reconnecting": bool(reconnecting),
        "intervalMs": current_settings().monitor_interval_ms,
        "owner": owner,
        "schedulerHere": scheduler_here,
    }
