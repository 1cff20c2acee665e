"""Who may use the console and the API, and what a request body must look like.

- With neither CONSOLE_PASSWORD nor API_TOKEN set (allowed only on loopback, see config.py), everything
  is open, as the old demo was.
- Otherwise scripts send `Authorization: Bearer <API_TOKEN>`, and people log in at /login with
  CONSOLE_PASSWORD, getting a session cookie; every state-changing request made with that cookie must
  carry the session's CSRF token in `X-CSRF-Token` (the page reads it from its <meta name="csrf-token">).
- The webhook has its own proof (the callback token) and /api/health stays open for load balancers.
- Bodies: JSON only (415 otherwise), at most MAX_BODY_BYTES (413).
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, g, jsonify, redirect, request, session, url_for
from flask.sessions import NullSession, SecureCookieSessionInterface

from wxwork_demo.config import current_settings
from wxwork_demo.services.secrets import same_secret

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_ENDPOINTS = {
    "status.health",
    "openapi.spec",
    "auth.login",
    "auth.login_form",
    "auth.logout",
    "callback.receive",
    "static",
}
FORM_ENDPOINTS = {"auth.login", "auth.logout"}


def auth_required() -> bool:
    settings = current_settings()
    return bool(settings.console_password or settings.api_token)


def csrf_token() -> str:
    """The session's CSRF token, created on first use ("" when there is no cookie session)."""
    if isinstance(session._get_current_object(), NullSession):
        return ""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _json_error(status: int, message: str):
    return jsonify({"ok": False, "message": message}), status


def declares_json(content_type: str) -> bool:
    """Whether a Content-Type header is plain JSON, decided without parsing it (the common case)."""
    return content_type == "application/json" or content_type.startswith("application/json;")


def _check_content_type():
    if declares_json(request.environ.get("CONTENT_TYPE", "")):
        return None
    if request.method in SAFE_METHODS or request.endpoint in FORM_ENDPOINTS:
        return None
    if request.content_length == 0 or (request.content_length is None and not request.get_data(cache=True)):
        return None
    if not request.is_json:
        return _json_error(415, f"Content-Type must be application/json, got {request.mimetype or 'none'!r}")
    return None


def _check_identity():
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None or not auth_required():
        return None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if same_secret(header.removeprefix("Bearer ").strip(), current_settings().api_token):
            g.identity = "token"
            return None
        return _json_error(401, "invalid API token")
    if session.get("user"):
        g.identity = "console"
        if request.method not in SAFE_METHODS and not same_secret(
            request.headers.get("X-CSRF-Token", ""), session.get("csrf", "")
        ):
            return _json_error(403, "missing or wrong X-CSRF-Token header")
        return None
    if request.path.startswith("/api/"):
        return _json_error(401, "authentication required: send Authorization: Bearer <API_TOKEN>, or log in")
    return redirect(url_for("auth.login_form", next=request.path))


def register_access_control(app: Flask) -> None:
    """Install the checks, the cookie signing, and the CSRF token for templates."""
    app.secret_key = app.config.get("SECRET_KEY") or None
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.session_interface = SharedKeySessionInterface()
    app.before_request(_check_content_type)
    app.before_request(_check_identity)
    app.context_processor(lambda: {"csrf_token": csrf_token, "auth_required": auth_required()})


class SharedKeySessionInterface(SecureCookieSessionInterface):
    """Signs session cookies with SECRET_KEY, or with a key generated once and kept in the database,
    so every gunicorn worker accepts the cookies of the others.

    The serializer is made once per key, and a request without cookies (the webhook, scripts with a
    token) gets an empty session without one: signing is paid only by requests that carry or set a cookie.
    """

    def __init__(self) -> None:
        self._serializer: tuple[object, object] | None = None  # (key, serializer)

    def open_session(self, app: Flask, request):
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            from wxwork_demo.services.secrets import shared_secret

            try:
                app.secret_key = shared_secret("session_key")
            except Exception:  # no database yet: no cookie session (the request still gets its JSON error)
                log.warning("session key unavailable: database not reachable or not migrated")
                return None
        cached = self._serializer
        if cached is None or cached[0] != app.secret_key:
            cached = self._serializer = (app.secret_key, super().get_signing_serializer(app))
        return cached[1]
