"""Refused callbacks cost no database work: counted in memory, written within FLUSH_EVERY_S."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import create_engine, event, select

from tests.conftest import CALLBACK_TOKEN
from tests.support import ThreadedConsole
from wxwork_demo.models import Counter
from wxwork_demo.services.intake.counters import FLUSH_EVERY_S

REFUSED = 60


def _stored_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            value = connection.scalar(select(Counter.value).where(Counter.name == "callbacks_rejected"))
    finally:
        engine.dispose()
    return value or 0


def test_refusals_write_nothing_on_the_request_and_reach_the_database_within_a_second(database_url):
    console = ThreadedConsole(
        {"DATABASE_URL": database_url, "CALLBACK_TOKEN": CALLBACK_TOKEN, "MONITOR_AUTOSTART": False}
    )
    writes: list[str] = []

    @event.listens_for(console.app.extensions["wxwork_db"].engine, "before_cursor_execute")
    def _spy(_conn, _cursor, statement, *_args):
        if "counters" in statement.lower() and not statement.lstrip().upper().startswith("SELECT"):
            writes.append(threading.current_thread().name)

    body = {"uuid": "U1", "type": 102000, "json": json.dumps({"msg_id": 1})}
    try:

        def refused(n: int) -> int:
            url = f"{console.url}/callback/wxwork?token=wrong-{n}"
            return requests.post(url, json=body, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(refused, range(REFUSED)))
        answered_at = time.monotonic()
        assert statuses == [403] * REFUSED
        while _stored_count(database_url) < REFUSED:
            assert time.monotonic() - answered_at < FLUSH_EVERY_S + 3, _stored_count(database_url)
            time.sleep(0.05)
        reached_s = time.monotonic() - answered_at
        request_threads = [name for name in writes if not name.startswith("chore-")]
        assert request_threads == [], f"{len(request_threads)} counter writes on request threads"
        assert 1 <= len(writes) <= 2 * (REFUSED // 10), writes  # a few flushes, not one per refusal
        # Counted at the end too: what is pending when the worker stops is written then.
        assert requests.post(f"{console.url}/callback/wxwork?token=wrong", json=body, timeout=10).status_code == 403
    finally:
        console.stop()
    assert _stored_count(database_url) == REFUSED + 1
    print(f"\n{REFUSED} refusals: {len(writes)} counter writes, in the database {reached_s:.2f} s after the last")
