"""Tell a person that an account needs them: once per episode, to ALERT_WEBHOOK_URL and the events log."""

from __future__ import annotations

import logging

import requests
from flask import current_app
from sqlalchemy import update

from wxwork_demo.db import db_session
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
    if claimed.rowcount != 1:
        return False
    row = session.get(Instance, session_id)
    body = {
        "type": "needs_person",
        "uuid": row.uuid,
        "vid": row.vid or "",
        "account": row.account_name or "",
        "state": row.state,
        "reason": reason,
        "hasQrcode": bool(row.qrcode),
        "at": iso_utc(now),
    }
    url = current_app.config.get("ALERT_WEBHOOK_URL") or ""
    delivery = "not configured"
    if url:
        try:
            response = requests.post(url, json=body, timeout=(3, 5))
            delivery = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            delivery = f"failed: {type(exc).__name__}"
            log.warning("alert webhook failed: %s", exc)
    record_event(row.uuid, "alert", "needs_person", {**body, "delivery": delivery})
    return True
