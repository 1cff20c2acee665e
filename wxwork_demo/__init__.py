"""wxwork_demo: a console, API and webhook receiver for WeChat Work accounts on the iPad-protocol upstream."""

from __future__ import annotations

from flask import Flask

from wxwork_demo.config import PROJECT_ROOT, forwarding_settings, load_settings


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, database, upstream client, monitor, access control, views, errors, commands.

    Starts no thread and opens no connection: gunicorn may fork after this returns.
    """
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"))
    load_config(app, config)
    init_extensions(app)
    register_access_control(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def load_config(app: Flask, overrides: dict | None) -> None:
    app.config.update(load_settings().as_flask_config())
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if overrides:
        app.config.update(overrides)
    # Checked again on the final config (overrides included): forwarding that cannot work stops the app here.
    app.config.update(forwarding_settings(app.config))


def init_extensions(app: Flask) -> None:
    from wxwork_demo.db import init_db
    from wxwork_demo.services.monitor.runtime import register_monitor
    from wxwork_demo.upstream import EXTENSION_KEY, make_client

    init_db(app)
    app.extensions[EXTENSION_KEY] = make_client(app.config)
    register_monitor(app)


def register_access_control(app: Flask) -> None:
    from wxwork_demo.access import register_access_control as register

    register(app)


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import register_blueprints as register

    register(app)


def register_error_handlers(app: Flask) -> None:
    from wxwork_demo.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from wxwork_demo.cli import register_commands as register

    register(app)
