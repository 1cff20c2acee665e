"""Thin HTTP views: read the request, call a service, return its JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import (
        api_docs,
        auth,
        business,
        callback,
        instances,
        login,
        monitor,
        openapi,
        pages,
        status,
    )

    for module in (status, login, business, monitor, callback, pages, instances, auth, openapi, api_docs):
        app.register_blueprint(module.bp)
