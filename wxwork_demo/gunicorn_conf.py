"""gunicorn settings, from the app's own settings (config.py: GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_*,
LOG_LEVEL), so a bad value stops gunicorn before it binds, in one line.

Shipped in the package, so an installed app serves with them (`wxwork serve`, `wxwork run`: `-c
python:wxwork_demo.gunicorn_conf`); a clone's gunicorn.conf.py reads them from here.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from typing import TYPE_CHECKING

from flask import Flask

from wxwork_demo.config import ConfigError, is_loopback, load_settings, require_auth_beyond_loopback, settings_of

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

# The app's own settings (.env included), validated: a bad value stops gunicorn before it binds, in one line.
try:
    _settings = load_settings()
except ConfigError as _error:
    sys.exit(f"configuration error: {_error}")
bind = _settings.gunicorn_bind or f"{_settings.host}:{_settings.port}"
# One process per core, as Python runs one thread at a time in a process; at most 4 by default (each holds
# its own pool of GUNICORN_THREADS database connections). The monitor's database lease keeps one owner.
workers = _settings.web_concurrency or min(4, len(os.sched_getaffinity(0)))
# GUNICORN_WORKER_CLASS, by default "auto": gevent (a greenlet per connection; the worker patches sockets,
# threads and locks). It takes more callbacks per second than gthread and keeps answering while 64 clients
# stall mid-request, where gthread answers nothing until they are cut (bench/RESULTS.md, "The server"). On
# SQLite listening on the loopback only (the embedded default of `wxwork run`), gthread: SQLite waits for its
# write lock without yielding to gevent, so a greenlet that switched away while holding that lock would stall
# the whole worker for up to busy_timeout (db.after_commit). Beyond the loopback, stalled clients reach the app
# itself: gevent there whatever the database (decided in on_starting, once every bound address is known).
AUTO = "auto"


def auto_worker_class(database_url: str) -> str:
    """The worker class "auto" means on the loopback, for this database."""
    return "gthread" if database_url.startswith("sqlite") else "gevent"


if _settings.gunicorn_worker_class == AUTO:
    worker_class = auto_worker_class(_settings.database_url)
else:
    worker_class = _settings.gunicorn_worker_class
# gevent: each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
# them evenly; on one shared socket the first worker awake took 14 of 16 keep-alive connections and ran on one
# core (gthread's workers shared them 10 / 6).
reuse_port = worker_class == "gevent"
# Connections a gevent worker serves at once.
worker_connections = _settings.gunicorn_connections
# gthread: threads per worker. Under either class the database pool of a worker is sized from it
# (db.pool_size_for): requests beyond it wait for a connection.
threads = _settings.gunicorn_threads
timeout = _settings.gunicorn_timeout
graceful_timeout = 10
# Seconds an idle keep-alive connection is kept; under gevent also the time a client has to send a request's
# headers: one that stalls is closed after it.
keepalive = _settings.gunicorn_keepalive
# Off by default: a log line per callback costs about an eighth of a worker's CPU at full load (issue 16).
# GUNICORN_ACCESSLOG=- logs to stdout (or give a file).
accesslog = _settings.gunicorn_accesslog or None
# %(U)s is the path without the query string: the callback URL's ?token= never reaches the log.
access_log_format = '%(t)s %(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

errorlog = "-"
loglevel = _settings.log_level
# Query strings cut from every log line, gunicorn's own and the app's (wxwork_demo/log_scrubbing.py).
logger_class = "wxwork_demo.log_scrubbing.GunicornLogger"
# No preload: the monitor's scheduler thread must be started in a worker, after the fork.
preload_app = False


def on_starting(server: Arbiter) -> None:
    """Refuse a bind beyond loopback without access control; say in one line what the database lacks."""
    exposed = []
    for address in server.cfg.bind:  # GUNICORN_BIND or -b can bypass HOST: check every address actually bound
        host = address.rsplit(":", 1)[0] if not address.startswith("unix:") else "127.0.0.1"
        try:
            require_auth_beyond_loopback(host, _settings.console_password, _settings.api_token, name="bind")
        except ConfigError as exc:
            sys.exit(f"configuration error: {exc}")
        if not is_loopback(host):
            exposed.append(address)
    if _settings.gunicorn_worker_class == AUTO:
        _say_auto_worker_class(server, exposed)
    from wxwork_demo.database_check import startup_problem

    # Once, in the master: the workers start anyway and answer 503 until the database is fixed.
    problem = startup_problem(_settings.database_url)
    if problem:
        if server.log is None:  # gunicorn makes its logger before this hook
            raise RuntimeError("gunicorn called on_starting before setting up its log")
        server.log.error(problem)


def _say_auto_worker_class(server: Arbiter, exposed: list[str]) -> None:
    """Say which class "auto" chose and why; switch to gevent when bound beyond the loopback on SQLite, before
    the arbiter makes its sockets (a socket per worker: reuse_port)."""
    if server.log is None:  # gunicorn makes its logger before on_starting
        raise RuntimeError("gunicorn called on_starting before setting up its log")
    if exposed:
        why = f"bound beyond the loopback ({', '.join(exposed)})"
    elif worker_class == "gevent":
        why = "the faster at callbacks, and it answers while clients stall"
    else:
        why = "SQLite on the loopback (its lock waits would stall a gevent worker)"
    if exposed and server.cfg.worker_class_str != "gevent":
        server.cfg.set("worker_class", "gevent")
        server.cfg.set("reuse_port", True)
        server.worker_class = server.cfg.worker_class
    chosen = server.cfg.worker_class_str
    other = "gthread" if chosen == "gevent" else "gevent"
    server.log.info("worker class auto: %s, %s; GUNICORN_WORKER_CLASS=%s to choose %s", chosen, why, other, other)


def when_ready(server: Arbiter) -> None:
    """A client that stops sending its request line or headers is dropped after CLIENT_TIMEOUT: accepted sockets
    inherit these kernel timeouts from the listening ones, and gthread reads headers in blocking mode (bodies are
    bounded by the app, wxwork_demo/slow_clients.py; gevent bounds headers by its keepalive)."""
    seconds = int(_settings.client_timeout)
    limit = struct.pack("ll", seconds, int((_settings.client_timeout - seconds) * 1_000_000))
    for listener in server.LISTENERS:
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)


def post_worker_init(worker: Worker) -> None:
    """Run a monitor scheduler in each worker when MONITOR_AUTOSTART is on; the database lease lets
    exactly one of them work at a time. A database that is down or not migrated (the master said so in one
    line) leaves this worker without a monitor, serving 503s, rather than crashing it again and again."""
    app = _this_app(worker)
    if app is None or not settings_of(app).monitor_autostart:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from wxwork_demo.db import get_db, missing_tables
    from wxwork_demo.services.monitor.runtime import autostart_monitor

    try:
        with app.app_context():
            if missing_tables(get_db().engine):
                worker.log.warning("monitor not started in worker %s: tables missing", worker.pid)
                return
        autostart_monitor(app)
    except SQLAlchemyError as exc:
        worker.log.warning(
            "monitor not started in worker %s: database unavailable (%s)", worker.pid, type(exc).__name__
        )


def worker_exit(server: Arbiter, worker: Worker) -> None:
    """Hand the monitor lease back so another worker takes over at once; write what the worker counted."""
    app = _this_app(worker)
    if app is not None:
        from wxwork_demo.chores import stop_chores
        from wxwork_demo.services.monitor.runtime import shutdown_monitor

        shutdown_monitor(app)
        stop_chores(app)


def _this_app(worker: Worker) -> Flask | None:
    """The worker's wxwork_demo app, or None (another WSGI app served with these settings: bench/)."""
    from wxwork_demo.db import EXTENSION_KEY

    app = getattr(worker, "wsgi", None)
    return app if isinstance(app, Flask) and EXTENSION_KEY in app.extensions else None
