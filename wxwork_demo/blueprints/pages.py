"""The web console: one page, its behaviour in the modules of static/console/, all data from the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, url_for

from wxwork_demo.config import current_settings

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    return render_template(
        "index.html",
        base_url=current_settings().base_url,
        callback_url=current_settings().callback_url,
    )


@bp.app_context_processor
def asset_helpers() -> dict[str, Any]:
    def asset_url(filename: str) -> str:
        # The file's mtime in the URL: a deploy changes the URL, so browsers never run a stale script.
        path = Path(current_app.static_folder or "") / filename
        version = int(path.stat().st_mtime) if path.is_file() else 0
        return url_for("static", filename=filename, v=version)

    return {"asset_url": asset_url}
