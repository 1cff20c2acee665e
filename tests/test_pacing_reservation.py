"""The reservation of a paced send, as the database sees it (on SQLite and MySQL): what an idle account's send
costs before it goes upstream, and a claim that waited for the account's lock spaces the next send from the moment
it got it. tests/e2e/test_pacing.py checks the spacing and the refusals over real HTTP and across processes."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import event, select, update

from tests.conftest import UPSTREAM
from tests.support import add_session, envelope
from wxwork_demo.db import get_db
from wxwork_demo.models import SendPacing

SEND = {"uuid": "U1", "send_userid": 7881302555913738, "isRoom": False, "content": "你好"}
SENT = {"receiver": 7881302555913738, "sender": 1688853790599424, "msg_id": 1066230}
STEP_MS = 1000
HELD_S = 0.4


def _statements_of(app) -> list[str]:
    """The SQL statements and commits the app's engine runs from now on for this thread's requests, in order.

    Only this thread's: a request may wake a chore (trimming `events`, flushing counters), whose statements run
    in a thread of its own on the same engine, at a moment that depends on the machine's load."""
    seen: list[str] = []
    requests_thread = threading.get_ident()
    with app.app_context():
        engine = get_db().engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        if threading.get_ident() == requests_thread:
            seen.append(statement.split(None, 1)[0].upper())

    @event.listens_for(engine, "commit")
    def _commit(_conn) -> None:
        if threading.get_ident() == requests_thread:
            seen.append("COMMIT")

    return seen


def test_an_idle_accounts_send_is_reserved_in_two_statements_and_the_requests_one_commit(app, client, upstream):
    add_session(app, "U1", is_login=True)
    seen = _statements_of(app)

    def reply(_request):
        seen.append("UPSTREAM")
        return 200, {}, '{"data": {"msg_id": 1}, "errcode": 0, "errmsg": "ok"}'

    upstream.add_callback("POST", f"{UPSTREAM}/wxwork/SendTextMsg", callback=reply)
    assert client.post("/api/send-text", json=SEND).status_code == 200  # the account's row is made
    seen.clear()
    assert client.post("/api/send-text", json={**SEND, "content": "again"}).status_code == 200
    before = seen[: seen.index("UPSTREAM")]
    # The instance's row read; the claim (UPDATE send_pacing) and the pending row (INSERT ... SELECT, with the
    # loop guard's count); one commit for the read and the reservation. The old code: 6 statements and 2 commits.
    assert before == ["SELECT", "UPDATE", "INSERT", "COMMIT"], before


def test_a_claim_that_waited_for_the_lock_spaces_the_next_send_from_when_it_got_it(database_url, upstream):
    from tests.conftest import make_test_app
    from tests.support import close_app

    app = make_test_app(database_url, SEND_MIN_INTERVAL_MS=STEP_MS, SEND_JITTER_MS=0)
    try:
        add_session(app, "U1", is_login=True)
        upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", json=envelope(SENT))
        client = app.test_client()
        assert client.post("/api/send-text", json=SEND).status_code == 200
        with app.app_context():
            engine = get_db().engine
        with engine.begin() as connection:  # the account idle again, without waiting a second
            connection.execute(update(SendPacing).where(SendPacing.account == "U1").values(next_at_ms=0))
        locked = threading.Event()

        def hold_the_accounts_lock() -> None:
            with engine.connect() as connection:
                connection.execute(update(SendPacing).where(SendPacing.account == "U1").values(turns=0))
                locked.set()
                threading.Event().wait(HELD_S)
                connection.rollback()  # as a sender refused with a 429 does: the moment stays as it was

        holder = threading.Thread(target=hold_the_accounts_lock)
        holder.start()
        assert locked.wait(10)
        answer = client.post("/api/send-text", json={**SEND, "content": "after the wait"})
        holder.join()
        assert answer.status_code == 200, answer.get_json()
        sent_ms = datetime.fromisoformat(answer.get_json()["sentAt"]).timestamp() * 1000
        with engine.connect() as connection:
            next_at = connection.scalar(select(SendPacing.next_at_ms).where(SendPacing.account == "U1"))
        # Spaced from when the send got the lock (and went out), not from when it asked for it (HELD_S earlier).
        assert next_at - sent_ms >= STEP_MS - 150, (next_at, sent_ms)
    finally:
        close_app(app)
