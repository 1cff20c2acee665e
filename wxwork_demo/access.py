"""Who may use the console and the API, and what a request body must look like.

- With neither CONSOLE_PASSWORD nor API_TOKEN set, everything is open to loopback clients, as the old demo
  was, and refused (403) to any other: decided here, per request, whatever address the server was told to
  listen on (config.py refuses such a HOST too, but gunicorn -b or flask run --host never ask it).
- Otherwise scripts send `Authorization: Bearer <API_TOKEN>`, and people log in at /login with
  CONSOLE_PASSWORD, getting a session cookie; every state-changing request made with that cookie must
  carry the session's CSRF token in `X-CSRF-Token` (the page reads it from its <meta name="csrf-token">).
  The cookie names a sign-in kept in the database (services/console/signin.py): logout revokes it for good.
- The webhook has its own proof (the callback token); /api/health and /api/ready stay open for load balancers,
  and show what may not be for strangers (the callback URL, what is wrong) only to a caller with credentials
  (`caller_identified`).
- Bodies: JSON only (415 otherwise), at most MAX_BODY_BYTES (413); the image and file sends also take a
  multipart/form-data upload of at most MEDIA_MAX_BYTES.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Request, Response, g, has_request_context, jsonify, redirect, request, session, url_for
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError

from wxwork_demo.config import current_settings, is_loopback
from wxwork_demo.proxies import unproxied
from wxwork_demo.services.console.signin import is_signed_in
from wxwork_demo.services.secrets import same_secret

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_ENDPOINTS = {
    "status.health",
    "status.ready",
    "openapi.spec",
    "auth.login",
    "auth.login_form",
    "auth.logout",
    "callback.receive",
    "static",
}
FORM_ENDPOINTS = {"auth.login", "auth.logout"}
# Endpoints that also take a multipart/form-data body with a file, up to MEDIA_MAX_BYTES (plus its form fields).
UPLOAD_ENDPOINTS = {"business.send_image", "business.send_file"}
UPLOAD_OVERHEAD_BYTES = 64 * 1024
# A proxy in front says whom it forwards for: such a request is not local, whatever address it comes from.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
LOOPBACK_ONLY = (
    "no credentials are configured (CONSOLE_PASSWORD, API_TOKEN): this console answers only on loopback "
    "(127.0.0.1); set them to use it from another address"
)


def auth_required() -> bool:
    settings = current_settings()
    return bool(settings.console_password or settings.api_token)


def from_loopback() -> bool:
    """Whether the client is on this machine and no proxy forwards for someone else."""
    environ = request.environ
    return is_loopback(environ.get("REMOTE_ADDR") or "") and not any(name in environ for name in FORWARDING_HEADERS)


def caller_identified() -> bool:
    """Whether an open endpoint may show this caller what it keeps from strangers: always when access control is
    off (the old demo's shape), else only with a valid API token or a console sign-in. Never fails: a database
    that cannot say whether a sign-in is valid makes the caller a stranger."""
    if not auth_required():
        return True
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return same_secret(header.removeprefix("Bearer ").strip(), current_settings().api_token)
    if "HTTP_COOKIE" not in request.environ or not session.get("user"):
        return False
    try:
        return is_signed_in(session.get("login", ""))
    except SQLAlchemyError:
        log.debug("sign-in check failed on an open endpoint", exc_info=True)
        return False


def csrf_token() -> str:
    """The session's CSRF token, created on first use ("" when there is no cookie session)."""
    if isinstance(unproxied(session), NullSession):
        return ""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _json_error(status: int, message: str, code: str) -> tuple[Response, int]:
    from wxwork_demo.errors import error_body  # errors imports the database layer, access is imported early

    return jsonify(error_body(status, message, code)), status


def declares_json(content_type: str) -> bool:
    """Whether a Content-Type header is plain JSON, decided without parsing it (the common case)."""
    return content_type == "application/json" or content_type.startswith("application/json;")


def _check_content_type() -> tuple[Response, int] | None:
    if declares_json(request.environ.get("CONTENT_TYPE", "")):
        return None
    if request.method in SAFE_METHODS or request.endpoint in FORM_ENDPOINTS:
        return None
    if request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data":
        request.max_content_length = current_settings().media_max_bytes + UPLOAD_OVERHEAD_BYTES
        return None
    if request.content_length == 0 or (request.content_length is None and not request.get_data(cache=True)):
        return None
    if not request.is_json:
        message = f"Content-Type must be application/json, got {request.mimetype or 'none'!r}"
        return _json_error(415, message, "unsupported_media_type")
    return None


def _check_identity() -> ResponseReturnValue | None:
    if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
        return None
    if not auth_required():
        return None if from_loopback() else _json_error(403, LOOPBACK_ONLY, "loopback_only")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if same_secret(header.removeprefix("Bearer ").strip(), current_settings().api_token):
            g.identity = "token"
            return None
        return _json_error(401, "invalid API token", "invalid_token")
    if session.get("user") and is_signed_in(session.get("login", "")):
        g.identity = "console"
        if request.method not in SAFE_METHODS and not same_secret(
            request.headers.get("X-CSRF-Token", ""), session.get("csrf", "")
        ):
            return _json_error(403, "missing or wrong X-CSRF-Token header", "csrf_failed")
        return None
    if request.path.startswith("/api/") or request.path == "/metrics":  # scrapers and scripts get no login page
        message = "authentication required: send Authorization: Bearer <API_TOKEN>, or log in"
        return _json_error(401, message, "authentication_required")
    return redirect(url_for("auth.login_form", next=request.path))


# Pages load their script, styles and data from this origin only (QR codes and avatars are images from
# anywhere), and no other site may frame them (clickjacking) or have a response sniffed into another type.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: http: https:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}


# On every answer: Flask's (below) and the webhook's message lane's (blueprints/callback.py).
ANSWER_HEADERS = (("X-Content-Type-Options", "nosniff"),)


def _security_headers(response: Response) -> Response:
    for name, value in ANSWER_HEADERS:
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def register_access_control(app: Flask) -> None:
    """Install the checks, the cookie signing, the CSRF token for templates and the pages' security headers."""
    # Flask's defaults hold these keys already (None, True): set, not setdefault.
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.session_interface = SharedKeySessionInterface()
    app.before_request(_check_content_type)
    app.before_request(_check_identity)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"csrf_token": csrf_token, "auth_required": auth_required()})


class SharedKeySessionInterface(SecureCookieSessionInterface):
    """Signs session cookies with the app key (services/secrets.py: SECRET_KEY or the instance key file,
    the same in every worker, never in the database).

    The serializer is made once per key, and a request without cookies (the webhook, scripts with a
    token) gets an empty session without one: signing is paid only by requests that carry or set a cookie.
    """

    def __init__(self) -> None:
        self._serializer: tuple[object, URLSafeTimedSerializer | None] | None = None  # (key, serializer)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when the page was served over https (gunicorn reads X-Forwarded-Proto from a trusted proxy)."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        cached = self._serializer
        if cached is None or cached[0] != app.secret_key:
            cached = self._serializer = (app.secret_key, super().get_signing_serializer(app))
        return cached[1]
