"""What the API and the console show of the outbox, and the replay of deliveries."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session
from wxwork_demo.models import Delivery
from wxwork_demo.proxies import unproxied
from wxwork_demo.services.forwarding import outbox
from wxwork_demo.services.forwarding.worker import wake_worker


def _real_target(shown: str) -> str:
    """The configured URL a shown target stands for (targets are shown without credentials)."""
    for url in current_settings().forward_url:
        if shown in (url, outbox.shown_target(url)):
            return url
    return shown


def deliveries(status: str | None, target: str | None, after: int, limit: int) -> dict[str, Any]:
    """Newest first: `{"deliveries": [...], "counts": {...}, "targets": [...]}`."""
    session = db_session()
    real = _real_target(target) if target else None
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if status:
        query = query.where(Delivery.status == status)
    if real:
        query = query.where(Delivery.target == real)
    if after:
        query = query.where(Delivery.id > after)
    rows = list(session.scalars(query))
    return {
        "deliveries": [outbox.delivery_to_dict(row) for row in rows],
        "counts": outbox.counts(session.connection(), real),
        "targets": targets(),
    }


def targets() -> list[dict[str, Any]]:
    """Each configured target with its counts and its last error (what the console's deliveries view shows)."""
    session = db_session()
    summaries = []
    for url in current_settings().forward_url:
        failed = session.execute(
            select(Delivery.last_error, Delivery.last_status, Delivery.id)
            .where(Delivery.target == url, Delivery.last_error != "")
            .order_by(Delivery.id.desc())
            .limit(1)
        ).first()
        summaries.append(
            {
                "url": outbox.shown_target(url),
                "counts": outbox.counts(session.connection(), url),
                "lastError": failed.last_error if failed else "",
                "lastErrorStatus": failed.last_status if failed else None,
            }
        )
    return summaries


def replay(ids: list[int] | None, status: str | None) -> int:
    """Requeue deliveries (same delivery id, a fresh count of attempts); the worker looks at once."""
    session = db_session()
    count = outbox.replay(session.connection(), ids, status)
    session.commit()
    wake_worker(unproxied(current_app))
    return count


def pending_count() -> int:
    return db_session().scalar(select(func.count()).select_from(Delivery).where(Delivery.status == outbox.PENDING)) or 0
