"""Small builders and readers shared by the tests."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from wxwork_demo import create_app
from wxwork_demo.config import EXTENSION_KEY, settings_of
from wxwork_demo.db import get_db
from wxwork_demo.models import Event, Instance

# Where the upstream posts: the registered callback URL carries the token.
CALLBACK_PATH = "/callback/wxwork?token=test-callback-token-0123456789"


def envelope(data=None, errcode=0, errmsg="ok", **extra) -> dict:
    return {"data": data, "errcode": errcode, "errmsg": errmsg, **extra}


def sent_json(call) -> dict:
    return json.loads(call.request.body)


def add_session(app, uuid="u-1", **fields) -> None:
    """Put a session row in the database, as init would have."""
    with app.app_context():
        database = get_db().sessions()
        database.add(Instance(uuid=uuid, **fields))
        database.commit()


def events_of(app, **filters) -> list[Event]:
    with app.app_context():
        query = select(Event).order_by(Event.id)
        for name, value in filters.items():
            query = query.where(getattr(Event, name) == value)
        return list(get_db().sessions().scalars(query))


def session_row(app, uuid) -> Instance | None:
    with app.app_context():
        return get_db().sessions().scalars(select(Instance).where(Instance.uuid == uuid)).first()


# The key file of every app a test builds without SECRET_KEY (set by conftest's app_key_file fixture).
KEY_FILE: dict[str, str] = {}


def clean_settings(**settings) -> dict:
    """What a test app is built from, and nothing else: create_app(mapping) never reads the environment or
    `.env`, so what a developer has set there cannot change a test. Only the key file is added: the test
    run's own, never the checkout's instance/secret_key."""
    media = str(Path(KEY_FILE["path"]).parent / "media")  # received media too: never the checkout's instance/
    return {"SECRET_KEY_FILE": KEY_FILE["path"], "MEDIA_DIR": media, **settings}


def change_settings(app, **changes) -> None:
    """Give a running app other settings (the object is frozen: it is replaced)."""
    app.extensions[EXTENSION_KEY] = dataclasses.replace(settings_of(app), **changes)


def close_app(app) -> None:
    """Stop what an app started (monitor, chores), close its upstream session and its database pool."""
    from wxwork_demo.chores import stop_chores
    from wxwork_demo.services.monitor.runtime import shutdown_monitor

    shutdown_monitor(app)
    stop_chores(app)
    app.extensions["wxwork_upstream"].http.close()
    app.extensions["wxwork_db"].engine.dispose()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class ThreadedConsole:
    """The console app (built from `config`) behind werkzeug's threaded server, in a daemon thread here.

    The socket is bound first (port 0), so CALLBACK_URL can name the real port before the app is built.
    With `run_monitor`, this process also runs the monitor's scheduler, as each gunicorn worker does under
    MONITOR_AUTOSTART, but the switch stays as the database has it (off in a fresh one) until a test turns it
    on with POST /api/monitor/start, which only sets the switch.
    """

    def __init__(self, config: dict, run_monitor: bool = False) -> None:
        self.app = None
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.app = create_app(
            clean_settings(**config, CALLBACK_URL=f"{self.url}/callback/wxwork", PORT=self.server.port)
        )
        if run_monitor:
            from wxwork_demo.services.monitor.runtime import start_scheduler

            start_scheduler(self.app)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name="console-http", daemon=True
        )
        self.thread.start()

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        assert not self.thread.is_alive(), "console server thread did not stop"
        close_app(self.app)
