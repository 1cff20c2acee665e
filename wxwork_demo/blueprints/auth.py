"""Console login and logout (only used when CONSOLE_PASSWORD is set)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from wxwork_demo.access import csrf_token
from wxwork_demo.config import current_settings
from wxwork_demo.services.secrets import same_secret

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: never bounce a freshly logged-in user to another site.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@bp.get("/login")
def login_form():
    return render_template("login.html", error="", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login():
    password = current_settings().console_password
    next_path = _safe_next(request.form.get("next"))
    if not same_secret(request.form.get("csrf", ""), session.get("csrf", "")):
        return render_template("login.html", error="页面已过期，请重试", next=next_path), 400
    if not password:
        error = "未设置控制台密码 (CONSOLE_PASSWORD)，请用 API_TOKEN"
        return render_template("login.html", error=error, next=next_path), 403
    if not same_secret(request.form.get("password", ""), password):
        return render_template("login.html", error="密码错误", next=next_path), 401
    session.clear()
    session["user"] = "console"
    csrf_token()
    return redirect(next_path)


@bp.post("/logout")
def logout():
    if same_secret(request.form.get("csrf", ""), session.get("csrf", "")):
        session.clear()
    return redirect(url_for("auth.login_form"))
