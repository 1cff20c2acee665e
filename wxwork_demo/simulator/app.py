"""Flask application factory of the upstream simulator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect
from werkzeug.wrappers import Response as WerkzeugResponse

from . import api, control
from .faults import RefuseMiddleware
from .runtime import EXTENSION_KEY, Simulator
from .settings import SimulatorSettings


def create_simulator_app(settings: Mapping[str, Any] | None = None) -> Flask:
    """Build a simulator app: `/wxwork/*` (upstream), `/qrcode/*.png`, and the `/_sim/*` control surface.

    `settings` keys are those of `SimulatorSettings` (qr_ttl, callback_retries, contacts_inner_people,
    contacts_external, seed, public_url, ...). The `Simulator` behind the app is in
    `app.extensions["wxwork_simulator"]`; call its `shutdown()` when done if no SimulatorServer owns it.
    Background threads only start when first needed (first QR code, first callback).
    """
    simulator = Simulator(SimulatorSettings.from_mapping(settings))
    app = Flask(__name__)
    # Chinese error texts stay readable on the wire, and field order follows the upstream samples.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = simulator
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)

    @app.get("/")
    def index() -> WerkzeugResponse:
        return redirect("/_sim/")

    # Outside Flask, so that the "refuse" fault can drop the connection instead of becoming an HTTP 500.
    app.wsgi_app = RefuseMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app
