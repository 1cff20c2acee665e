"""Where a transaction ends: one commit per unit of work, events that outlive theirs, a session per app context.

The rules (wxwork_demo/db.py, services/events.py, services/upstream_calls.py): the service that owns a unit of
work commits it; an upstream call's outcome is committed right after the call in a unit of work of its own, so a
failed call leaves its event row and nothing else; no upstream call is made while the unit of work holds
uncommitted writes (their locks would be held for the call's length, and on SQLite the event could not be
written at all).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import UPSTREAM
from tests.support import add_session, envelope, events_of, session_row
from wxwork_demo.db import db_session, holds_uncommitted_writes
from wxwork_demo.models import Base, Instance, SentMessage
from wxwork_demo.services.events import record_event
from wxwork_demo.services.upstream_calls import client, traced


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        session = db_session()
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def _columns(row: Instance) -> dict[str, object]:
    return {column.name: getattr(row, column.key) for column in Instance.__mapper__.columns}


def test_a_failed_upstream_call_leaves_its_event_row_and_nothing_else(app, client, upstream):
    add_session(app, "u-1", vid="1688", state="initialised", last_event="init")
    with app.app_context():
        before = _columns(session_row(app, "u-1"))
    counts = _row_counts(app)
    upstream.post(f"{UPSTREAM}/wxwork/SetCallbackUrl", status=500, body="upstream exploded")

    answer = client.post("/api/set-callback", json={"uuid": "u-1"})

    assert answer.status_code == 502
    assert answer.get_json()["ok"] is False
    after = _row_counts(app)
    assert after == {**counts, "events": counts["events"] + 1}
    (event,) = events_of(app, stage="set_callback_error")
    assert event.session_uuid == "u-1"
    with app.app_context():
        assert _columns(session_row(app, "u-1")) == before


def test_an_upstream_call_is_refused_while_the_unit_of_work_holds_uncommitted_writes(app, upstream):
    add_session(app, "u-1", vid="1688")
    with app.app_context():
        row = db_session().scalars(select(Instance).where(Instance.uuid == "u-1")).one()
        row.last_error = "changed, not committed"
        db_session().flush()  # written to the database, inside the open transaction

        with pytest.raises(RuntimeError, match="uncommitted writes"):
            traced("get_qrcode", "u-1", client().get_qrcode, "u-1")
        db_session().rollback()

    assert len(upstream.calls) == 0  # refused before anything reached the upstream
    assert session_row(app, "u-1").last_error in (None, "")
    assert events_of(app) == []


def test_record_event_never_commits_the_callers_work(app):
    add_session(app, "u-1", vid="1688")
    with app.app_context():
        row = db_session().scalars(select(Instance).where(Instance.uuid == "u-1")).one()
        row.last_error = "pending"
        assert holds_uncommitted_writes(db_session())

        with pytest.raises(RuntimeError, match="uncommitted writes"):
            record_event("u-1", "test", "refused", {})
        db_session().rollback()

    assert session_row(app, "u-1").last_error in (None, "")
    assert events_of(app) == []


def test_an_event_recorded_outlives_the_unit_of_work_that_made_it(app):
    add_session(app, "u-1", vid="1688")
    with app.app_context():
        row = db_session().scalars(select(Instance).where(Instance.uuid == "u-1")).one()
        record_event("u-1", "test", "kept", {"n": 1})
        row.last_error = "rolled back"
        db_session().rollback()

    assert [e.event_type for e in events_of(app, stage="test")] == ["kept"]
    assert session_row(app, "u-1").last_error in (None, "")


def test_read_only_work_is_not_uncommitted_writes(app):
    add_session(app, "u-1")
    with app.app_context():
        session = db_session()
        session.scalars(select(Instance)).all()
        assert session.in_transaction()
        assert not holds_uncommitted_writes(session)
        session.commit()
        assert not holds_uncommitted_writes(session)


def test_each_app_context_has_a_session_of_its_own(app):
    with app.app_context():
        outer = db_session()
        with app.app_context():
            inner = db_session()
            assert inner is not outer
        assert db_session() is outer  # the inner context's end removed its own session only


def test_a_successful_login_step_commits_its_row_and_state_together(app, client, upstream):
    add_session(app, "u-1", vid="1688", state="initialised")
    qrcode = {"qrcode": "data:image/png;base64,iVBORw0KGgo=", "key": "K1", "ttl": 120}
    upstream.post(f"{UPSTREAM}/wxwork/getQrCode", json=envelope(qrcode))

    answer = client.post("/api/get-qrcode", json={"uuid": "u-1"})

    assert answer.status_code == 200, answer.get_json()
    row = session_row(app, "u-1")
    assert (row.qrcode_key, row.state, row.last_event) == ("K1", "waiting_scan", "get-qrcode")
    stages = [e.stage for e in events_of(app)]
    assert "get_qrcode" in stages and "state" in stages


def _commits_during(app, action) -> list[list[str]]:
    """The write statements of each transaction committed while `action` runs (read-only ones left out)."""
    from sqlalchemy import event

    from wxwork_demo.db import get_db

    with app.app_context():
        engine = get_db().engine
    open_writes: dict[int, list[str]] = {}
    committed: list[list[str]] = []

    def on_execute(conn, _cursor, statement, _parameters, _context, _many):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            table = statement.split()[2 if statement.lstrip().upper().startswith(("INSERT", "DELETE")) else 1]
            open_writes.setdefault(id(conn.connection.dbapi_connection), []).append(table.strip('`"').lower())

    def on_commit(conn):
        writes = open_writes.pop(id(conn.connection.dbapi_connection), [])
        if writes:
            committed.append(writes)

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
    return committed


def _send_text_counting_commits(app, client):
    """POST one send-text; its answer, and the write statements of each transaction it committed."""
    answers = []
    body = {"send_userid": 42, "isRoom": False, "content": "hi"}
    commits = _commits_during(app, lambda: answers.append(client.post("/api/send-text", json=body)))
    return answers[0], commits


def test_a_send_commits_its_reservation_then_its_event_and_sent_row_together(app, client, upstream):
    add_session(app, "U1", vid="1688", is_login=True)
    sent = {"receiver": 42, "sender": 1688, "msg_id": 1066230, "server_id": 77}
    upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", json=envelope(sent))

    answer, commits = _send_text_counting_commits(app, client)

    assert answer.status_code == 200, answer.get_json()
    assert len(commits) == 2, commits
    reservation, outcome = commits
    assert "sent_messages" in reservation
    assert sorted(set(outcome)) == ["events", "sent_messages"]


def test_a_failed_send_is_kept_failed_with_its_event_in_one_commit(app, client, upstream):
    add_session(app, "U1", vid="1688", is_login=True)
    upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", json=envelope(None, errcode=-1, errmsg="对方不是好友"))

    answer, commits = _send_text_counting_commits(app, client)

    assert answer.status_code == 502, answer.get_json()
    assert sorted(set(commits[-1])) == ["events", "sent_messages"]
    [event] = events_of(app, stage="send_text_error")
    assert event.event_type.startswith("SendTextMsg:")
    with app.app_context():
        [row] = db_session().scalars(select(SentMessage)).all()
        assert row.status == "failed"


@pytest.mark.parametrize("outcome", ["sent", "failed"])
def test_upkeep_a_send_asks_for_is_asked_for_after_its_commit(app, client, upstream, monkeypatch, outcome):
    """Asking for a chore may start its thread, and under gevent that lets other requests run: one of them
    waiting for SQLite's write lock, held by this unit of work, blocks the whole worker (SQLite's busy wait
    does not yield to gevent) for up to busy_timeout. So the events trim and the sent rows' trim a send asks
    for are asked for once its unit of work has committed."""
    import wxwork_demo.services.business.sent_log as sent_log
    import wxwork_demo.services.events as events
    from wxwork_demo.chores import Chore

    monkeypatch.setattr(events, "PRUNE_EVERY", 1)
    monkeypatch.setattr(sent_log, "FORGET_EVERY", 1)
    asked: list[tuple[str, bool]] = []
    original = Chore.request

    def request(self) -> None:
        asked.append((self.name, holds_uncommitted_writes(db_session())))
        original(self)

    monkeypatch.setattr(Chore, "request", request)
    add_session(app, "U1", is_login=True)
    if outcome == "sent":
        upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", json=envelope({"msg_id": 1066230}))
    else:
        upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", status=500, body="upstream exploded")
    body = {"uuid": "U1", "send_userid": 7881302555913738, "isRoom": False, "content": "你好"}

    answer = client.post("/api/send-text", json=body)

    assert answer.status_code == (200 if outcome == "sent" else 502)
    names = {name for name, _ in asked}
    assert {"trim-events", "forget-old-sends"} <= names, asked
    assert [name for name, holding in asked if holding] == [], asked
