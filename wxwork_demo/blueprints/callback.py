"""The webhook the upstream posts to. It answers `{"errcode": 0}` only once the event is stored.

Two doors to the same room. The blueprint's view (`receive`) answers every kind of request. In front of
Flask, `MessageLane` (installed by `create_app`'s `install_message_lane` step) takes the bulk of the
traffic, plain message callbacks, and does the view's own work for them without Flask's request
machinery, which costs as much CPU per request as the whole INSERT of the bare-Flask floor
(bench/README.md).

What the lane bypasses: Flask's routing, contexts and request log, `access.py`'s before-request checks
(content type and credentials: the webhook is an open endpoint, authenticated by its token), the
`@endpoint` contract check (`CallbackBody`/`CallbackQuery`: documentation only here, as the view reads the
body itself) and Flask's error handlers. So that bypassing them changes no answer, each concern is one
function both doors call: `declares_json` (content type), the `MAX_CONTENT_LENGTH` setting (size: a larger
body goes on to Flask, which answers 413), `sender_refusal` (token and sender address; the view's
`check_sender` counts and logs a refusal), `parse_callback` (the body), `store_callback` (dedup and group
commit), `error_reply` (the error contract, in errors.py) and `ANSWER_HEADERS` (access.py). What
the lane does not bypass: the slow-client guard and the proxy headers, which `create_app` puts in front of
both doors. Whatever the lane does not take, it hands on to Flask untouched: session callbacks (login,
scan, disconnect), refusals, malformed bodies, anything but `POST /callback/wxwork` with a JSON body.
tests/test_callbacks.py checks that both doors answer alike.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from wsgiref.types import StartResponse, WSGIEnvironment

from flask import Blueprint, Flask, Response, request

from wxwork_demo.access import ANSWER_HEADERS, declares_json
from wxwork_demo.blueprints.body import json_body
from wxwork_demo.blueprints.edge import endpoint
from wxwork_demo.contract.callback import CallbackBody, CallbackQuery, Stored
from wxwork_demo.errors import BadInput, error_reply
from wxwork_demo.log_scrubbing import hide_query_strings

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

from wxwork_demo.services.intake.callbacks import (
    SESSION_TYPES,
    check_sender,
    parse_callback,
    sender_refusal,
    store_callback,
)

PATH = "/callback/wxwork"
bp = Blueprint("callback", __name__)
# The answers, serialised once: the webhook is the busiest route.
STORED = b'{"errcode":0,"errmsg":"ok"}'
DUPLICATE = b'{"errcode":0,"errmsg":"ok","duplicate":true}'


@bp.post(PATH)
@endpoint(
    body=CallbackBody,
    query=CallbackQuery,
    reply=Stored,
    errors=("400", "403", "413", "415", "503"),
    body_required=True,
    parse=False,  # check_sender and parse_callback read it: the message lane shares them
)
def receive() -> Response:
    """The upstream's webhook: answered once the event is stored (503 makes the sender retry)"""
    check_sender(request.args.get("token", ""), request.remote_addr)
    callback = parse_callback(json_body(allow_empty=False))
    body = STORED if store_callback(callback) else DUPLICATE
    return Response(body, mimetype="application/json")


class MessageLane:
    """WSGI middleware: plain message callbacks stored and answered here, everything else passed to Flask.

    It takes a request only when it is `POST /callback/wxwork` declaring `application/json`, with a
    Content-Length within MAX_CONTENT_LENGTH, a JSON object body, an accepted token and sender, and a type
    that changes no session. The body it has read goes on with any request it hands over.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask = app.wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Every request of the app passes here: nothing raised may reach gunicorn, which would answer an
        HTML 500 and log the request line, the callback token with it. Errors answer the JSON contract."""
        started = False

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal started
            started = True
            return start_response(status, headers, exc_info)

        try:
            return self._route(environ, start)
        except Exception as exc:
            if started:  # too late for another answer: the server ends the response
                raise
            status, body = _error_reply(exc)
            start_response(status, _json_headers(body))
            return [body]

    def _route(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or not declares_json(environ.get("CONTENT_TYPE", ""))
        ):
            return self.flask(environ, start_response)
        length = _content_length(environ)
        if length is None or length <= 0 or length > (self.app.config.get("MAX_CONTENT_LENGTH") or length):
            return self.flask(environ, start_response)
        token = parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
        reply = None
        with self.app.app_context():
            # A refused sender is handed over before its body is read (the view refuses it unread too): one that
            # stalls mid-body without a token waits for nothing.
            if not sender_refusal(token, environ.get("REMOTE_ADDR")):
                raw = environ["wsgi.input"].read(length)
                environ["wsgi.input"] = io.BytesIO(raw)
                reply = self._store(raw)
        if reply is None:
            return self.flask(environ, start_response)
        status, body = reply
        start_response(status, _json_headers(body))
        return [body]

    def _store(self, raw: bytes) -> tuple[str, bytes] | None:
        """The status line and body of the answer, or None to hand the request to Flask (in the app context)."""
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(body, dict):
            return None
        try:
            callback = parse_callback(body)
        except BadInput:
            return None
        if callback.type in SESSION_TYPES:
            return None
        stored = store_callback(callback)
        return "200 OK", STORED if stored else DUPLICATE


def _error_reply(exc: Exception) -> tuple[str, bytes]:
    """The status line and JSON body of the error contract for `exc` (a body that did not arrive in time,
    slow_clients.py: 408; the database: 503), as Flask's handlers answer it (errors.py; logged there)."""
    error, status = error_reply(exc)
    return f"{status} {HTTPStatus(status).phrase}", json.dumps(error).encode()


def _json_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *ANSWER_HEADERS]


def _content_length(environ: WSGIEnvironment) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def install_message_lane(app: Flask) -> None:
    """Put the lane in front of the app's Flask door (create_app's `install_message_lane` step)."""
    # Flask's documented way to add a WSGI middleware, which mypy reads as replacing a method.
    app.wsgi_app = MessageLane(app)  # type: ignore[method-assign]
    hide_query_strings()  # the callback URL's token, in werkzeug's request log under `flask run`
