"""Trimming `events` to MAX_EVENTS: an id cutoff and a primary-key range, in a thread of its own.

bench/trim.py measures what these tests only bound: the cost of a trim on large tables and the deadlocks
of trims racing inserts.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import delete, event, func, select

from tests.conftest import CALLBACK_TOKEN, make_test_app
from tests.support import ThreadedConsole, close_app
from wxwork_demo.db import db_session, get_db
from wxwork_demo.models import Event
from wxwork_demo.services.events import PRUNE_EVERY, events_trimmer, record_event, trim_events

MESSAGE = 102000


def _ids(app) -> list[int]:
    with app.app_context():
        return list(db_session().scalars(select(Event.id).order_by(Event.id)))


def test_a_trim_keeps_the_newest_ids_and_never_more_than_max_events(app):
    with app.app_context():
        for n in range(57):
            record_event("U", "test", "tick", {"n": n})
        events_trimmer().wait_idle()
        newest = max(_ids(app))
        with get_db().engine.connect() as connection:
            assert trim_events(connection, 10) == 47
        assert _ids(app) == list(range(newest - 9, newest + 1))
        # A gap in the ids (rolled-back inserts): fewer rows are kept, never more.
        db_session().execute(delete(Event).where(Event.id.in_([newest - 1, newest - 2])))
        db_session().commit()
        for n in range(3):
            record_event("U", "test", "tick", {"n": n})
        events_trimmer().wait_idle()
        with get_db().engine.connect() as connection:
            assert trim_events(connection, 10) == 3
            assert trim_events(connection, 10) == 0
        assert _ids(app) == [newest - 6, newest - 5, newest - 4, newest - 3, newest, *range(newest + 1, newest + 4)]
        with get_db().engine.connect() as connection:
            connection.execute(delete(Event))
            connection.commit()
            assert trim_events(connection, 10) == 0


def test_trims_run_in_a_thread_of_their_own_never_on_a_request(database_url):
    """Over real HTTP: requests never run a DELETE on `events`; the trimmer does, and keeps the cap."""
    console = ThreadedConsole(
        {"DATABASE_URL": database_url, "CALLBACK_TOKEN": CALLBACK_TOKEN, "MAX_EVENTS": 10, "MONITOR_AUTOSTART": False}
    )
    deleting_threads: list[str] = []

    @event.listens_for(console.app.extensions["wxwork_db"].engine, "before_cursor_execute")
    def _spy(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("DELETE FROM EVENTS"):
            deleting_threads.append(threading.current_thread().name)

    url = f"{console.url}/callback/wxwork?token={CALLBACK_TOKEN}"
    try:

        def post(n: int) -> int:
            body = {"uuid": "U1", "type": MESSAGE, "json": json.dumps({"msg_id": n, "content": f"m{n}"})}
            return requests.post(url, json=body, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(post, range(200)))
        assert statuses == [200] * 200
        with console.app.app_context():
            assert events_trimmer().wait_idle()
            kept = db_session().scalar(select(func.count()).select_from(Event))
            newest = db_session().scalar(select(func.max(Event.id)))
    finally:
        console.stop()
    assert deleting_threads, "no trim ran"
    assert set(deleting_threads) == {"chore-trim-events"}, deleting_threads
    # The last trim kept at most MAX_EVENTS; fewer than PRUNE_EVERY rows arrived after it.
    assert kept <= 10 + PRUNE_EVERY - 1, kept
    assert newest is not None


def test_workers_trimming_at_once_never_deadlock_nor_fail_a_callback(database_url, caplog):
    """Four apps on one database (as four gunicorn workers), each taking callbacks on four threads, with
    the default MAX_EVENTS: no callback fails, no trim fails (a deadlock would be logged), the cap holds."""
    apps = [make_test_app(database_url, MAX_EVENTS=100) for _ in range(4)]
    caplog.set_level(logging.WARNING)
    refusals: list[str] = []  # what a failed callback answered, for the failure message
    try:

        def send(worker: int) -> list[int]:
            app = apps[worker % 4]
            client = app.test_client()
            statuses = []
            for n in range(60):
                body = {"uuid": "U1", "type": MESSAGE, "json": json.dumps({"msg_id": f"{worker}-{n}"})}
                response = client.post(f"/callback/wxwork?token={CALLBACK_TOKEN}", json=body)
                statuses.append(response.status_code)
                if response.status_code != 200:
                    refusals.append(f"{worker}-{n}: {response.status_code} {response.get_data(as_text=True)}")
            return statuses

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = [status for result in pool.map(send, range(16)) for status in result]
        for app in apps:
            with app.app_context():
                assert events_trimmer().wait_idle()
        with apps[0].app_context():
            kept = db_session().scalar(select(func.count()).select_from(Event))
    finally:
        for app in apps:
            close_app(app)
    # The log says why a callback failed (the database's own words): both in the one failure message.
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert statuses == [200] * len(statuses), (refusals[:5], problems[:5])
    assert problems == [], problems[:5]
    assert kept <= 100 + PRUNE_EVERY + 4 * 16, kept
