"""The background monitor: find accounts that dropped and bring them back by themselves.

One pass checks every session that belongs to an account (it has a `vid`) with GetRunClientByUuid.
A session that is not logged in is reconnected: init with its vid → SetCallbackUrl → automaticLogin,
else getQrCode so a person can scan. Every step is recorded in `events`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, current_app
from flask_apscheduler import APScheduler
from sqlalchemy import select

from wxwork_demo.db import db_session
from wxwork_demo.models import LoginSession, iso_utc, utcnow
from wxwork_demo.services.events import record_event
from wxwork_demo.services.login import init_body
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import UpstreamError, UpstreamRefused, is_logged_in, parse_qrcode

log = logging.getLogger(__name__)

EXTENSION_KEY = "wxwork_monitor"
CHECK_JOB_ID = "monitor-check"
# A QR code is out or a code is being typed: a new init now would throw away what the person is doing.
WAITING_FOR_PERSON = {"reconnect:needs-scan", "scanned", "need-code", "confirmed"}


@dataclass
class MonitorState:
    """What /api/state shows of the monitor running in this process."""

    interval_ms: int
    enabled: bool = False
    running: bool = False
    last_check_at: datetime | None = None
    last_reconnect_at: datetime | None = None
    reconnecting: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    scheduler: APScheduler | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "enabled": self.enabled,
            "running": self.running,
            "lastCheckAt": iso_utc(self.last_check_at),
            "lastReconnectAt": iso_utc(self.last_reconnect_at),
            "reconnecting": bool(self.reconnecting),
            "intervalMs": self.interval_ms,
        }


def register_monitor(app: Flask) -> None:
    """Attach the monitor's state to the app; nothing starts until `start_monitor`."""
    app.extensions[EXTENSION_KEY] = MonitorState(interval_ms=app.config["MONITOR_INTERVAL_MS"])


def monitor_state(app: Flask | None = None) -> MonitorState:
    return (app or current_app).extensions[EXTENSION_KEY]


def start_monitor(app: Flask) -> MonitorState:
    """Start (or resume) the periodic check in this process."""
    state = monitor_state(app)
    with state.lock:
        if state.scheduler is None:
            scheduler = APScheduler()
            scheduler.init_app(app)
            scheduler.add_job(
                id=CHECK_JOB_ID,
                func=_run_check_job,
                args=(app,),
                trigger="interval",
                seconds=state.interval_ms / 1000,
                max_instances=1,
                coalesce=True,
            )
            scheduler.start()
            state.scheduler = scheduler
        else:
            state.scheduler.resume_job(CHECK_JOB_ID)
        state.enabled = True
    return state


def stop_monitor(app: Flask) -> MonitorState:
    """Pause the periodic check (a pass already running finishes)."""
    state = monitor_state(app)
    with state.lock:
        if state.scheduler is not None:
            state.scheduler.pause_job(CHECK_JOB_ID)
        state.enabled = False
    return state


def shutdown_monitor(app: Flask) -> None:
    state = monitor_state(app)
    with state.lock:
        if state.scheduler is not None:
            state.scheduler.shutdown(wait=False)
            state.scheduler = None
        state.enabled = False


def reconnect_soon(session_id: int) -> None:
    """A callback said the account dropped: reconnect now if the monitor runs in this process.

    Otherwise the next pass of whichever process runs the monitor finds it offline.
    """
    app = current_app._get_current_object()
    state = monitor_state(app)
    if state.scheduler is None or not state.enabled:
        return
    # One job id per session: a burst of disconnect signals replaces the pending job instead of adding more.
    state.scheduler.add_job(
        id=f"reconnect-{session_id}",
        func=_run_reconnect_job,
        args=(app, session_id),
        trigger="date",
        replace_existing=True,
        max_instances=1,
    )


def _run_check_job(app: Flask) -> None:
    with app.app_context():
        try:
            check_all_sessions()
        except Exception:
            log.exception("monitor pass failed")


def _run_reconnect_job(app: Flask, session_id: int) -> None:
    with app.app_context():
        try:
            reconnect(session_id)
        except Exception:
            log.exception("reconnect of session %s failed", session_id)


def sessions_to_watch() -> list[int]:
    """Ids of sessions that belong to an account and so should be online."""
    query = select(LoginSession.id).where(LoginSession.vid.is_not(None), LoginSession.vid != "")
    return list(db_session().scalars(query))


def check_all_sessions() -> dict:
    """One monitor pass: check each watched session, reconnect those that dropped."""
    state = monitor_state()
    state.running = True
    checked, reconnected = 0, 0
    try:
        for session_id in sessions_to_watch():
            checked += 1
            if not check_session(session_id):
                reconnected += int(reconnect(session_id))
    finally:
        state.running = False
        state.last_check_at = utcnow()
    return {"checked": checked, "reconnected": reconnected}


def check_session(session_id: int) -> bool:
    """Whether the session is logged in, per GetRunClientByUuid; stores what it learns."""
    session = db_session()
    row = session.get(LoginSession, session_id)
    if row is None:
        return True
    try:
        reply = traced("monitor", row.uuid, client().get_run_client_by_uuid, row.uuid)
        online = is_logged_in(reply.data)
        reason = "" if online else "not logged in"
    except UpstreamRefused as exc:
        online, reason = False, exc.errmsg or f"errcode {exc.errcode}"
    except UpstreamError as exc:
        # The upstream itself is failing: that says nothing about the account, so do not reconnect.
        row.last_error = exc.message
        session.commit()
        return True
    if row.is_login != online:
        row.is_login = online
        row.last_error = reason
        row.last_event = "monitor:online" if online else "monitor:offline"
        session.commit()
    return online


def reconnect(session_id: int) -> bool:
    """init(vid) → SetCallbackUrl → automaticLogin, else getQrCode. True when the account is back."""
    state = monitor_state()
    with state.lock:
        if session_id in state.reconnecting:
            return False
        state.reconnecting.add(session_id)
    try:
        return _reconnect(session_id)
    finally:
        state.last_reconnect_at = utcnow()
        with state.lock:
            state.reconnecting.discard(session_id)


def _reconnect(session_id: int) -> bool:
    session = db_session()
    row = session.get(LoginSession, session_id)
    if row is None or not row.vid or row.last_event in WAITING_FOR_PERSON:
        return False
    api = client()
    vid = row.vid
    record_event(row.uuid, "reconnect", "start", {"vid": vid, "reason": row.last_error or row.last_event})
    try:
        reply = traced("reconnect", row.uuid, api.init, init_body({"vid": int(vid) if vid.isdigit() else vid}))
        new_uuid = str((reply.data or {}).get("uuid") or "") if isinstance(reply.data, dict) else ""
        if not new_uuid:
            raise UpstreamRefused("init", -1, "init returned no uuid", reply.envelope)
        _move_to_uuid(row, new_uuid)
        traced("reconnect", new_uuid, api.set_callback_url, new_uuid, current_app.config["CALLBACK_URL"])
    except UpstreamError as exc:
        row.last_error = f"reconnect failed: {exc.message}"
        session.commit()
        return False
    try:
        traced("reconnect", new_uuid, api.automatic_login, new_uuid)
    except UpstreamError as exc:
        return _fall_back_to_qrcode(row, exc)
    row.is_login = True
    row.last_event = "reconnected"
    row.last_error = ""
    session.commit()
    record_event(new_uuid, "reconnect", "done", {"vid": vid})
    return True


def _move_to_uuid(row: LoginSession, new_uuid: str) -> None:
    """The account's row follows it to its new instance (one row per account)."""
    session = db_session()
    if new_uuid != row.uuid:
        stale = session.scalars(select(LoginSession).where(LoginSession.uuid == new_uuid)).first()
        if stale is not None and stale.id != row.id:
            session.delete(stale)
            session.flush()
        row.uuid = new_uuid
    row.is_login = False
    row.last_event = "reconnect:init"
    session.commit()


def _fall_back_to_qrcode(row: LoginSession, failure: UpstreamError) -> bool:
    session = db_session()
    try:
        reply = traced("reconnect", row.uuid, client().get_qrcode, row.uuid)
    except UpstreamError as exc:
        row.last_error = f"automatic login failed ({failure.message}); QR code failed too ({exc.message})"
        session.commit()
        return False
    qr = parse_qrcode(reply.data)
    row.qrcode = qr.image
    row.qrcode_key = qr.key
    row.last_event = "reconnect:needs-scan"
    row.last_error = f"automatic login failed ({failure.message}): scan the QR code"
    session.commit()
    return False
