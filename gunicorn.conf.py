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
    """Start the monitor in the worker when MONITOR_AUTOSTART is on (one process owns it per run)."""
    app = getattr(worker, "wsgi", None)
    if app is None or not hasattr(app, "extensions"):
        return
    if app.config.get("MONITOR_AUTOSTART"):
        from wxwork_demo.services.monitor import start_monitor

        start_monitor(app)
