"""Which gunicorn worker serves by default (issue 11, point 9): gevent when the app listens beyond the loopback,
where stalled clients can reach it; gthread on the loopback, where a reverse proxy in front (deploy/nginx) reads
whole requests before passing them on, and gthread takes callbacks about twice as fast (bench/RESULTS.md,
"The server"). GUNICORN_WORKER_CLASS chooses explicitly."""

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


def test_on_the_loopback_gthread_serves(start_gunicorn):
    assert worker_of(start_gunicorn(**LIGHT)) == "gthread"


def test_an_explicit_worker_class_is_kept(start_gunicorn):
    console = start_gunicorn(HOST="0.0.0.0", API_TOKEN=TOKEN, GUNICORN_WORKER_CLASS="gthread", **LIGHT)
    assert worker_of(console) == "gthread"
