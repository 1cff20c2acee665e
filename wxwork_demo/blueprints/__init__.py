"""Thin HTTP views: read the request, call a service, return its JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import (
        api_docs,
        auth,
        business,
        callback,
        forwarding,
        friends,
        instances,
        login,
        messages,
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
        messages,
        forwarding,
    ):
        app.register_blueprint(module.bp)
