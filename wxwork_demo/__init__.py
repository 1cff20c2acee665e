"""wxwork_demo: a console, API and webhook receiver for WeChat Work accounts on the iPad-protocol upstream."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from wxwork_demo.config import EXTENSION_KEY as SETTINGS_KEY
from wxwork_demo.config import SETTING_NAMES, as_environment, load_settings, settings_of
from wxwork_demo.paths import bundled


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, database, upstream client, monitor, access control, views, the webhook's
    message lane, proxy headers, the slow-client guard, errors, commands.

    Settings come from the environment and `.env`, or, when `config` is given (tests, benchmarks), from
    `config` alone. Starts no thread and opens no connection: gunicorn may fork after this returns.
    """
    app = Flask(__name__, template_folder=str(bundled("templates")))
    load_config(app, config)
    load_app_key(app)
    init_extensions(app)
    register_access_control(app)
    register_blueprints(app)
    install_message_lane(app)
    trust_proxies(app)
    bound_slow_clients(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def load_config(app: Flask, config: dict[str, Any] | None) -> None:
    """The typed settings on the app; Flask's own config keys (and any other key of `config`) in app.config."""
    settings = load_settings() if config is None else load_settings(as_environment(config), dotenv=False)
    app.extensions[SETTINGS_KEY] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes  # Flask refuses larger bodies (413)
    if not isinstance(app.json, DefaultJSONProvider):
        raise TypeError(f"the app's JSON provider is a {type(app.json).__name__}, not Flask's default one")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.config.update({name: value for name, value in (config or {}).items() if name not in SETTING_NAMES})


def load_app_key(app: Flask) -> None:
    """SECRET_KEY, or the instance key file (created by whichever process starts first): never the database."""
    from wxwork_demo.services.secrets import app_key

    app.secret_key = app_key(settings_of(app))


def init_extensions(app: Flask) -> None:
    from wxwork_demo.db import init_db
    from wxwork_demo.services.monitor.runtime import register_monitor
    from wxwork_demo.upstream import EXTENSION_KEY, make_client

    init_db(app)
    app.extensions[EXTENSION_KEY] = make_client(settings_of(app))
    register_monitor(app)


def register_access_control(app: Flask) -> None:
    from wxwork_demo.access import register_access_control as register

    register(app)


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import register_blueprints as register

    register(app)


def install_message_lane(app: Flask) -> None:
    """The webhook's second door, in front of Flask: plain message callbacks are stored and answered there, by
    the view's own functions, without Flask's request machinery (its cost per callback was that of the whole
    INSERT); everything else goes on to Flask. What it bypasses, and why: blueprints/callback.py, README "The
    webhook's two doors"."""
    from wxwork_demo.blueprints.callback import install_message_lane as install

    install(app)


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies (nginx), take the client's address, scheme and host from their
    X-Forwarded-* headers. Outermost, so the webhook's message lane sees the client too. Off by default: without a
    proxy those headers are whatever the client wrote."""
    count = settings_of(app).trusted_proxies
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to add a WSGI middleware, which mypy reads as replacing a method.
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
