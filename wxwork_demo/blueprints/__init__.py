"""Thin HTTP views: read the request, call a service, return its JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import business, callback, login, monitor, pages, sessions, status

    for module in (status, login, business, monitor, callback, pages, sessions):
        app.register_blueprint(module.bp)
