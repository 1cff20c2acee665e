"""Which gunicorn worker serves by default (issues 11 and 16): gevent, the faster at callbacks and the one that
answers while clients stall (bench/RESULTS.md, "The server"); gthread only on SQLite listening on the loopback
(the embedded default), whose lock waits would stall a gevent worker; beyond the loopback gevent whatever the
database. GUNICORN_WORKER_CLASS chooses explicitly."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

TOKEN = "worker-class-api-token-0123456789"
# One worker without a monitor: only which class serves matters here, and less to start on a loaded machine.
LIGHT = {"WEB_CONCURRENCY": "1", "MONITOR_AUTOSTART": "false"}


def worker_of(console) -> str:
    line = next(line for line in console.log().splitlines() if "Using worker:" in line)
    return line.rsplit(":", 1)[1].strip()


def test_beyond_the_loopback_gevent_serves(start_gunicorn):
    console = start_gunicorn(HOST="0.0.0.0", API_TOKEN=TOKEN, **LIGHT)
    assert worker_of(console) == "gevent"
    assert "bound beyond the loopback" in console.log()


def test_on_the_loopback_gevent_serves_unless_the_database_is_sqlite(start_gunicorn, db_url):
    console = start_gunicorn(**LIGHT)
    expected = "gthread" if db_url.startswith("sqlite") else "gevent"
    assert worker_of(console) == expected
    assert f"worker class auto: {expected}" in console.log()


def test_an_explicit_worker_class_is_kept(start_gunicorn):
    console = start_gunicorn(HOST="0.0.0.0", API_TOKEN=TOKEN, GUNICORN_WORKER_CLASS="gthread", **LIGHT)
    assert worker_of(console) == "gthread"
