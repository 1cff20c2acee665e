"""What is kept of the messages sent: a month, then deleted by a chore (on SQLite and MySQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from wxwork_demo.db import db_session
from wxwork_demo.models import SentMessage, utcnow
from wxwork_demo.services.business.sent_log import KEPT_DAYS, forget_old_sends


def _sent(age_days: float, n: int) -> SentMessage:
    return SentMessage(
        account="1688", conversation="42", kind="text", digest="d" * 64, msg_id=str(n), status="sent",
        created_at=utcnow() - timedelta(days=age_days),
    )  # fmt: skip


def test_sends_older_than_a_month_are_forgotten(app):
    with app.app_context():
        db_session().add_all([_sent(KEPT_DAYS + 1, 1), _sent(KEPT_DAYS + 40, 2), _sent(KEPT_DAYS - 1, 3), _sent(0, 4)])
        db_session().commit()
        assert forget_old_sends() == 2
        kept = db_session().scalars(select(SentMessage.msg_id).order_by(SentMessage.msg_id)).all()
        assert kept == ["3", "4"]
        assert forget_old_sends() == 0
