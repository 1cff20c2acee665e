"""Console login and logout (only used when CONSOLE_PASSWORD is set)."""

from __future__ import annotations

import math
import re

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from wxwork_demo.access import csrf_token
from wxwork_demo.config import current_settings
from wxwork_demo.services.console.signin import sign_in, sign_out, try_allowed
from wxwork_demo.services.secrets import same_secret

bp = Blueprint("auth", __name__)
# A local path and nothing else: one "/" then no second "/" or "\" (browsers read "/\x" and "//x" as another
# host), only printable URL characters (browsers drop tabs and line breaks, so "/\t/evil" becomes "//evil").
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?#]*")


def _safe_next(target: str | None) -> str:
    # Never bounce a freshly logged-in user to another site.
    return target if target and LOCAL_PATH.fullmatch(target) else "/"


@bp.get("/login")
def login_form() -> str:
    return render_template("login.html", error="", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login() -> ResponseReturnValue:
    password = current_settings().console_password
    next_path = _safe_next(request.form.get("next"))
    if not same_secret(request.form.get("csrf", ""), session.get("csrf", "")):
        return render_template("login.html", error="页面已过期，请重试", next=next_path), 400
    if not password:
        error = "未设置控制台密码 (CONSOLE_PASSWORD)，请用 API_TOKEN"
        return render_template("login.html", error=error, next=next_path), 403
    client = request.remote_addr or ""
    wait = try_allowed(client)
    if wait:
        error = f"尝试次数过多，请 {math.ceil(wait / 60)} 分钟后再试"
        return render_template("login.html", error=error, next=next_path), 429, {"Retry-After": str(math.ceil(wait))}
    if not same_secret(request.form.get("password", ""), password):
        return render_template("login.html", error="密码错误", next=next_path), 401
    session.clear()
    session["user"] = "console"
    session["login"] = sign_in(client)
    csrf_token()
    return redirect(next_path)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if same_secret(request.form.get("csrf", ""), session.get("csrf", "")):
        sign_out(session.get("login", ""))
        session.clear()
    return redirect(url_for("auth.login_form"))
