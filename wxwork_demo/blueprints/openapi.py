"""`GET /api/openapi.json`: the OpenAPI document of the local API (open, like /api/health)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from wxwork_demo.openapi import SPEC

bp = Blueprint("openapi", __name__, url_prefix="/api")


@bp.get("/openapi.json")
def spec():
    return jsonify(SPEC)
