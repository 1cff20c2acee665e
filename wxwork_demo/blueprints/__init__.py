"""Thin HTTP views: read the request, call a service, return its JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import (
        api_docs,
        auth,
        business,
        callback,
        friends,
        instances,
        login,
        metrics,
        monitor,
        openapi,
        pages,
        rooms,
        status,
    )

    for module in (
        status,
        login,
        business,
        rooms,
        friends,
        monitor,
        callback,
        pages,
        instances,
        auth,
        openapi,
        api_docs,
        metrics,
    ):
        app.register_blueprint(module.bp)
