"""Tell a person that an account needs them: once per episode, to ALERT_WEBHOOK_URL and the events log."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import update

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session, rows_matched
from wxwork_demo.models import Instance, iso_utc, utcnow
from wxwork_demo.services.events import record_event

log = logging.getLogger(__name__)


def alert_needs_person(session_id: int, reason: str) -> bool:
    """Send the alert unless this episode was already alerted (the claim is atomic across processes)."""
    session = db_session()
    now = utcnow()
    claimed = session.execute(
        update(Instance).where(Instance.id == session_id, Instance.alerted_at.is_(None)).values(alerted_at=now)
    )
    session.commit()
    if rows_matched(claimed) != 1:
        return False
    row = session.get(Instance, session_id)
    if row is None:  # deleted since the claim: no account left to alert about
        return False
    _send_alert(row, "needs_person", now, state=row.state, reason=reason, hasQrcode=bool(row.qrcode))
    return True


def alert_notice(session_id: int) -> None:
    """Send the account's latest ban or restriction notice (services/monitor/notices.py) as an alert."""
    from wxwork_demo.services.monitor.notices import notice_to_dict  # notices imports this module

    row = db_session().get(Instance, session_id)
    if row is None:
        return
    _send_alert(row, "notice", utcnow(), notice=notice_to_dict(row))


def alert_silence(session_id: int, since: str) -> None:
    """The account is online by the upstream's word but has had no callback since `since`."""
    row = db_session().get(Instance, session_id)
    if row is None:
        return
    reason = "online, but no callback for a long time: check the callback URL and the phone"
    _send_alert(row, "silent", utcnow(), silentSince=since, reason=reason)


def _send_alert(row: Instance, kind: str, at: datetime, **details: object) -> None:
    """One alert: the account's identity, what `kind` adds, the time; delivered, then kept as an event (with
    how the delivery went) under the stage `alert` and the event type `kind`."""
    body = {"type": kind, "uuid": row.uuid, "vid": row.vid or "", "account": row.account_name or "", **details}
    body["at"] = iso_utc(at)
    record_event(row.uuid, "alert", kind, {**body, "delivery": _deliver(body)})


def _deliver(body: dict[str, Any]) -> str:
    """POST `body` to ALERT_WEBHOOK_URL; how it went, for the alert's event."""
    url = current_settings().alert_webhook_url
    if not url:
        return "not configured"
    try:
        response = requests.post(url, json=body, timeout=(3, 5))
    except requests.RequestException as exc:
        log.warning("alert webhook failed: %s", exc)
        return f"failed: {type(exc).__name__}"
    return f"HTTP {response.status_code}"
