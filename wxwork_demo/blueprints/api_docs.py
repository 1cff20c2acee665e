"""`GET /docs`: Swagger UI for /api/openapi.json, offline: its files come from the swagger-ui-py package.

Not an open endpoint: the same access control as the API (a console login, or the API token). Only the package's
files are used (found without importing its code), and only the few the page loads are served.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, send_from_directory

bp = Blueprint("api_docs", __name__)

ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")


@cache
def assets_folder() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed (requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@cache
def assets_version() -> str:
    return importlib.metadata.version("swagger-ui-py")


@bp.get("/docs")
def page() -> str:
    return render_template("api_docs.html", assets_version=assets_version())


@bp.get("/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    return send_from_directory(assets_folder(), name, max_age=86400)
