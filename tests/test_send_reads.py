"""What a send reads of its session row: the uuid and vid, nothing else (issue 16, target 3).

The ORM's read of the whole row (27 columns, populate_existing) was over a quarter of a send-text's CPU, which
under webhook load becomes latency. The lookup still answers as `require_instance` does: the active session
when the body names none, 404 for an unknown uuid, 400 when there is no session at all.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from tests.conftest import UPSTREAM
from tests.support import add_session, envelope
from wxwork_demo.db import get_db
from wxwork_demo.models import utcnow

SENT = {"receiver": 42, "sender": 1688, "msg_id": 1066230, "server_id": 77}
TEXT = {"send_userid": 42, "isRoom": False, "content": "hi"}


def _session_reads(app, action) -> list[str]:
    """The SELECT statements on `sessions` run while `action` runs."""
    with app.app_context():
        engine = get_db().engine
    reads: list[str] = []

    def on_execute(_conn, _cursor, statement, _parameters, _context, _many):
        text = " ".join(statement.split())
        if text.upper().startswith("SELECT") and " FROM sessions" in text:
            reads.append(text)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return reads


def test_a_send_text_reads_only_the_uuid_and_vid_of_its_session(app, client, upstream):
    add_session(app, "U1", vid="1688", is_login=True)
    upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", json=envelope(SENT))

    answers = []
    reads = _session_reads(app, lambda: answers.append(client.post("/api/send-text", json={"uuid": "U1", **TEXT})))

    assert answers[0].status_code == 200, answers[0].get_json()
    assert len(reads) == 1, reads
    columns = reads[0].split(" FROM ")[0].removeprefix("SELECT ").replace("sessions.", "").split(", ")
    assert columns == ["uuid", "vid"]


def test_a_send_text_without_a_uuid_goes_from_the_most_recently_updated_session(app, client, upstream):
    now = utcnow()
    add_session(app, "OLD", vid="1", is_login=True, updated_at=now - timedelta(minutes=5))
    add_session(app, "NEW", vid="2", is_login=True, updated_at=now)
    upstream.post(f"{UPSTREAM}/wxwork/SendTextMsg", json=envelope(SENT))

    answer = client.post("/api/send-text", json=TEXT)

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["request"]["uuid"] == "NEW"


def test_a_send_text_to_an_unknown_or_missing_session_is_refused_as_before(app, client):
    unknown = client.post("/api/send-text", json={"uuid": "nope", **TEXT})
    assert unknown.status_code == 404
    assert unknown.get_json()["code"] == "unknown_instance"
    assert unknown.get_json()["field"] == "uuid"
    assert "unknown session uuid 'nope'" in unknown.get_json()["message"]

    none = client.post("/api/send-text", json=TEXT)
    assert none.status_code == 400
    assert none.get_json()["code"] == "no_active_instance"
    assert none.get_json()["field"] == "uuid"
