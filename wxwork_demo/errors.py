"""One error contract: every failure is a JSON body with `ok: false` and a `message`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from werkzeug.exceptions import HTTPException

from wxwork_demo.db import get_db
from wxwork_demo.upstream import UpstreamError

log = logging.getLogger(__name__)

MISSING_TABLES_HINT = "the database has no tables yet: run `flask --app wsgi db upgrade` (or `make db`)"
# MySQL/MariaDB errors that mean "not now", not "not this": too many connections, shutting down, connection
# killed, and the two a retry resolves (BUSY_CODES); client errors 2000-2999 (cannot connect, connection
# lost, timeouts) too. Anything else refused the statement for what it holds.
BUSY_CODES = {1205, 1213}  # lock wait timeout, deadlock
UNAVAILABLE_CODES = {1040, 1053, 1927, *BUSY_CODES}


# The stable machine code of an error body (`code`) when nothing more precise is known: clients (the console)
# translate and branch on it; `message` stays English, for people. Codes are added, never renamed.
STATUS_CODES = {
    400: "bad_input",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    502: "upstream_error",
    503: "unavailable",
    504: "upstream_timeout",
}


def code_for_status(status: int) -> str:
    return STATUS_CODES.get(status, "error")


class AppError(Exception):
    """A failure the API reports as it is: `status`, a `message` naming the cause, a stable `code`, and any
    details."""

    def __init__(self, status: int, message: str, *, code: str = "", **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or code_for_status(status)
        self.details = details
        # Headers the answer carries (Retry-After on a 429).
        self.headers: dict[str, str] = {}


class BadInput(AppError):
    """400: the request names a `field` whose value cannot be used."""

    def __init__(self, field: str, message: str, *, code: str = "bad_input") -> None:
        super().__init__(400, message, code=code, field=field)


def error_body(status: int, message: str, code: str = "", **details: Any) -> dict[str, Any]:
    """The error contract's body: `ok: false`, `message` for people, `code` for programs, then details."""
    return {"ok": False, "message": message, "code": code or code_for_status(status), **details}


def _rollback() -> None:
    try:
        get_db().sessions.rollback()
    except Exception:  # the connection may be the thing that broke
        log.debug("rollback after error failed", exc_info=True)


def _is_missing_table(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "no such table" in text or "doesn't exist" in text or "1146" in text


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> tuple[Response, int, dict[str, str]]:
        body, status = error_reply(exc)
        return jsonify(body), status, exc.headers

    @app.errorhandler(UpstreamError)
    def _upstream_error(exc: UpstreamError) -> tuple[Response, int]:
        _rollback()
        body, status = error_reply(exc)
        return jsonify(body), status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
        # Keep the exception's own headers (`Allow` on a 405 is required), not its HTML content type.
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        body, status = error_reply(exc)
        return jsonify(body), status, headers

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError) -> tuple[Response, int]:
        _rollback()
        body, status = database_error_reply(exc)
        return jsonify(body), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        _rollback()
        body, status = unexpected_error_reply(exc)
        return jsonify(body), status


def error_reply(exc: Exception) -> tuple[dict[str, Any], int]:
    """The body and status of the error contract for `exc`: what Flask's handlers above answer, and what the
    webhook's message lane answers in front of Flask (blueprints/callback.py)."""
    if isinstance(exc, AppError):
        return error_body(exc.status, exc.message, exc.code, **exc.details), exc.status
    if isinstance(exc, UpstreamError):
        body = error_body(exc.status, exc.message, exc.code, stage=exc.action, upstream=exc.to_dict())
        if exc.raw is not None:
            body["raw"] = exc.raw
        return body, exc.status
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        return error_body(status, exc.description or exc.name), status
    if isinstance(exc, DBAPIError):
        return database_error_reply(exc)
    return unexpected_error_reply(exc)


def database_error_reply(exc: DBAPIError) -> tuple[dict[str, Any], int]:
    """The body and status for a database failure (logged here): 503 when it is unavailable or not migrated."""
    if isinstance(exc, (OperationalError, ProgrammingError)) and _is_missing_table(exc):
        log.error("database schema missing: %s", MISSING_TABLES_HINT)
        return error_body(503, MISSING_TABLES_HINT, "database_not_migrated"), 503
    if database_unavailable(exc):
        log.error("database %s: %s", "busy" if _mysql_code(exc) in BUSY_CODES else "unavailable", exc.orig)
        return error_body(503, "database unavailable, try again shortly", "database_unavailable"), 503
    log.error("database error", exc_info=exc)
    return error_body(500, "database error", "database_error"), 500


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot serve now (down, unreachable, overloaded, a deadlock), as opposed
    to refusing this statement for what it holds (a constraint, a value): a retry later may succeed.

    SQLite's OperationalErrors are all of the first kind (locked, cannot open, disk I/O). MySQL's error class
    says less: a constraint that fails (4025, e.g. JSON_VALID) is an OperationalError too, so its code decides.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    code = _mysql_code(exc)
    return code is None or 2000 <= code < 3000 or code in UNAVAILABLE_CODES


def _mysql_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def unexpected_error_reply(exc: Exception) -> tuple[dict[str, Any], int]:
    """The body and status for a failure nothing else handles (logged here with its traceback)."""
    log.error("unexpected error", exc_info=exc)
    return error_body(500, "internal error", "internal_error", detail=type(exc).__name__), 500
