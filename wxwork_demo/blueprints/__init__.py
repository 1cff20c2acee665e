"""Thin HTTP views: read the request, call a service, return its JSON."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from wxwork_demo.blueprints import (
        auth,
        business,
        callback,
        forwarding,
        instances,
        login,
        messages,
        monitor,
        openapi,
        pages,
        status,
    )

    for module in (status, login, business, monitor, callback, pages, instances, auth, openapi, messages, forwarding):
        app.register_blueprint(module.bp)
    callback.install_message_lane(app)
