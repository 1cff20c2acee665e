"""gunicorn settings; every value can be overridden by the environment variable named beside it."""

import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '3000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# No preload: the monitor's scheduler thread must be started in a worker, after the fork.
preload_app = False


def post_worker_init(worker):
    """Run a monitor scheduler in each worker when MONITOR_AUTOSTART is on; the database lease lets
    exactly one of them work at a time."""
    app = getattr(worker, "wsgi", None)
    if app is None or not hasattr(app, "extensions"):
        return
    if app.config.get("MONITOR_AUTOSTART"):
        from wxwork_demo.services.monitor import autostart_monitor

        autostart_monitor(app)


def worker_exit(server, worker):
    """Hand the monitor lease back so another worker takes over at once."""
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "extensions"):
        from wxwork_demo.services.monitor import shutdown_monitor

        shutdown_monitor(app)
