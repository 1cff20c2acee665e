"""gunicorn settings; every value can be overridden by the environment variable named beside it."""

import os

from wxwork_demo.config import load_settings, require_auth_beyond_loopback, settings_of

# The app's own settings (.env included), validated: a bad value stops gunicorn before it binds.
_settings = load_settings()
bind = os.environ.get("GUNICORN_BIND", f"{_settings.host}:{_settings.port}")
# One process per core, as Python runs one thread at a time in a process; at most 4 by default (each holds
# its own pool of GUNICORN_THREADS database connections). The monitor's database lease keeps one owner.
workers = int(os.environ.get("WEB_CONCURRENCY", "").strip() or min(4, len(os.sched_getaffinity(0))))
# gthread: a thread per request in flight. GUNICORN_WORKER_CLASS=gevent (a greenlet per connection; the worker
# patches sockets, threads and locks) keeps answering while 64 clients stall mid-request, where gthread answers
# nothing until they are cut, but four gevent workers with the monitor did not answer /api/health within 30 s
# of starting in tests/e2e/test_monitor_processes.py on a loaded machine, so it is not the default yet
# (bench/RESULTS.md compares gthread, gevent and granian).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# gevent: each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
# them evenly; on one shared socket the first worker awake took 14 of 16 keep-alive connections and ran on one
# core (gthread's workers shared them 10 / 6).
reuse_port = worker_class == "gevent"
# Connections a gevent worker serves at once.
worker_connections = int(os.environ.get("GUNICORN_CONNECTIONS", "1000"))
# gthread: threads per worker. Under either class the database pool of a worker is sized from it
# (db.pool_size_for): requests beyond it wait for a connection.
threads = _settings.gunicorn_threads
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 10
# Seconds an idle keep-alive connection is kept; under gevent also the time a client has to send a request's
# headers: one that stalls is closed after it.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Off by default: a log line per callback costs about an eighth of a worker's CPU at full load (issue 16).
# GUNICORN_ACCESSLOG=- logs to stdout (or give a file).
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "").strip() or None
# %(U)s is the path without the query string: the callback URL's ?token= never reaches the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Query strings cut from every log line, gunicorn's own and the app's (wxwork_demo/log_scrubbing.py).
logger_class = "wxwork_demo.log_scrubbing.GunicornLogger"
# No preload: the monitor's scheduler thread must be started in a worker, after the fork.
preload_app = False


def on_starting(server):
    """GUNICORN_BIND or -b can bypass HOST: check every address actually bound."""
    for address in server.cfg.bind:
        host = address.rsplit(":", 1)[0] if not address.startswith("unix:") else "127.0.0.1"
        require_auth_beyond_loopback(host, _settings.console_password, _settings.api_token, name="bind")


def post_worker_init(worker):
    """Run a monitor scheduler in each worker when MONITOR_AUTOSTART is on; the database lease lets
    exactly one of them work at a time."""
    app = _this_app(worker)
    if app is None:
        return
    from wxwork_demo.db import get_db, missing_tables
    from wxwork_demo.errors import MISSING_TABLES_HINT

    with app.app_context():
        try:
            missing = missing_tables(get_db().engine)
        except Exception as exc:  # the database is down: requests will say 503 until it is back
            worker.log.error("database unreachable at start: %s", type(exc).__name__)
            missing = []
    if missing:
        worker.log.error("missing tables %s: %s", ", ".join(missing), MISSING_TABLES_HINT)
        return
    if settings_of(app).monitor_autostart:
        from wxwork_demo.services.monitor.runtime import autostart_monitor

        autostart_monitor(app)


def worker_exit(server, worker):
    """Hand the monitor lease back so another worker takes over at once; write what the worker counted."""
    app = _this_app(worker)
    if app is not None:
        from wxwork_demo.chores import stop_chores
        from wxwork_demo.services.monitor.runtime import shutdown_monitor

        shutdown_monitor(app)
        stop_chores(app)


def _this_app(worker):
    """The worker's wxwork_demo app, or None (another WSGI app served with these settings: bench/)."""
    from wxwork_demo.db import EXTENSION_KEY

    app = getattr(worker, "wsgi", None)
    return app if EXTENSION_KEY in getattr(app, "extensions", {}) else None
