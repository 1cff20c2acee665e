"""`GET /api/openapi.json`: the OpenAPI document of the local API (open, like /api/health)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from wxwork_demo.blueprints.edge import endpoint
from wxwork_demo.contract.status import Document
from wxwork_demo.openapi import build_spec

bp = Blueprint("openapi", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@endpoint(reply=Document)
def spec() -> Response:
    """This document"""
    return jsonify(build_spec(current_app))
