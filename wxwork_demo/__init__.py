"""wxwork_demo: a console, API and webhook receiver for WeChat Work accounts on the iPad-protocol upstream."""

from __future__ import annotations

from flask import Flask

from wxwork_demo.config import load_settings
from wxwork_demo.paths import bundled


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, database, upstream client, monitor, access control, views, the slow-client
    guard, errors, commands.

    Starts no thread and opens no connection: gunicorn may fork after this returns.
    """
    app = Flask(__name__, template_folder=str(bundled("templates")))
    load_config(app, config)
    load_app_key(app)
    init_extensions(app)
    register_access_control(app)
    register_blueprints(app)
    trust_proxies(app)
    bound_slow_clients(app)
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


def load_app_key(app: Flask) -> None:
    """SECRET_KEY, or the instance key file (created by whichever process starts first): never the database."""
    from wxwork_demo.services.secrets import app_key

    app.secret_key = app_key(app.config)


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


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies (nginx), take the client's address, scheme and host from their
    X-Forwarded-* headers. Outermost, so the webhook's message lane sees the client too. Off by default: without a
    proxy those headers are whatever the client wrote."""
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


def bound_slow_clients(app: Flask) -> None:
    """In front of every request (the message lane included): bodies within CLIENT_TIMEOUT (slow_clients.py)."""
    from wxwork_demo.slow_clients import install_slow_client_guard

    install_slow_client_guard(app)


def register_error_handlers(app: Flask) -> None:
    from wxwork_demo.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from wxwork_demo.cli import register_commands as register

    register(app)
