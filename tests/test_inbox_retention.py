"""Retention: messages past MESSAGE_RETENTION_DAYS go (with their outbox rows), the catch-up cursor stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.conftest import make_test_app
from tests.support import change_settings, close_app
from wxwork_demo.db import db_session
from wxwork_demo.models import AccountCursor, Delivery, Message, utcnow
from wxwork_demo.services.inbox.catch_up import last_server_id
from wxwork_demo.services.inbox.retention import trim_old_messages

ACCOUNT = "1688853790599424"


def _message(n: int, age_days: float) -> Message:
    return Message(
        account=ACCOUNT,
        uuid="U1",
        message_key=f"s:{n}",
        type=102000,
        conversation="7881302555913738",
        server_id=n,
        received_at=utcnow() - timedelta(days=age_days),
        payload={},
    )


def test_old_messages_go_with_their_deliveries_and_the_cursor_stays(database_url):
    app = make_test_app(database_url, MESSAGE_RETENTION_DAYS=30)
    try:
        with app.app_context():
            session = db_session()
            old = [_message(n, 40) for n in range(1, 6)]
            new = [_message(n, 1) for n in range(6, 9)]
            session.add_all(old + new)
            session.flush()
            for message in old + new:
                session.add(Delivery(message_id=message.id, target="http://t.example/in", next_attempt_at=utcnow()))
            session.commit()
            assert trim_old_messages(chunk=2) == 5
            kept = list(session.scalars(select(Message.server_id).order_by(Message.id)))
            assert kept == [6, 7, 8]
            assert session.scalar(select(func.count()).select_from(Delivery)) == 3
            assert session.get(AccountCursor, ACCOUNT).last_server_id == 5
            assert last_server_id(ACCOUNT) == 8
            # Everything gone after a long silence: catch-up still resumes from the last server_id.
            change_settings(app, message_retention_days=1)
            session.query(Message).update({Message.received_at: utcnow() - timedelta(days=2)})
            session.commit()
            assert trim_old_messages() == 3
            assert last_server_id(ACCOUNT) == 8
            assert trim_old_messages() == 0
    finally:
        close_app(app)
