"""Clients that send slowly or stop halfway are cut off, so that they cannot hold the server's threads.

A WSGI middleware in front of everything (the message lane included), installed by `create_app`:

- the request body must arrive within CLIENT_TIMEOUT seconds in all: a body that stalls or drips gets 408 and
  the connection is closed (under gunicorn, whose socket the body is read from; other servers read it
  themselves);
- a request answered without reading all its body (a refused callback, a 401, a 413) closes the connection
  once answered, so the server does not wait for the rest of a body nobody needs.

Headers that stall are the server's to bound: gunicorn.conf.py gives its listening sockets a receive timeout
of CLIENT_TIMEOUT (gthread), and gevent bounds them by its keep-alive timeout.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from wsgiref.types import StartResponse, WSGIEnvironment

from flask import Flask
from werkzeug.exceptions import RequestTimeout

from wxwork_demo.config import settings_of

if TYPE_CHECKING:
    from _typeshed import OptExcInfo


class BodyTimedOut(RequestTimeout):
    description = "the request body did not arrive in time"


class DeadlineInput:
    """`wsgi.input` with a deadline for the whole body; it remembers whether the body was read to its end."""

    def __init__(self, stream: Any, sock: socket.socket, deadline: float, length: int | None) -> None:
        self.stream = stream
        self.sock = sock
        self.deadline = deadline
        self.left = length  # None: chunked, the end is known when a read returns nothing
        self.finished = length == 0

    def read(self, size: int = -1) -> bytes:
        return self._count(self._bounded(self.stream.read, size), size)

    def readline(self, size: int = -1) -> bytes:
        return self._count(self._bounded(self.stream.readline, size), size)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _bounded(self, read: Callable[[int], bytes], size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTimedOut()
        previous = self.sock.gettimeout()
        self.sock.settimeout(remaining if previous is None else min(previous, remaining))
        try:
            return read(size)
        except (TimeoutError, BlockingIOError):  # socket.timeout, or the kernel's receive timeout
            raise BodyTimedOut() from None
        finally:
            self.sock.settimeout(previous)

    def _count(self, data: bytes, size: int) -> bytes:
        if self.left is not None:
            self.left -= len(data)
        if (self.left is not None and self.left <= 0) or (not data and size != 0):
            self.finished = True
        return data


class SlowClientGuard:
    """The middleware: see the module docstring."""

    def __init__(self, app: Flask) -> None:
        self.wsgi_app = app.wsgi_app
        self.timeout = settings_of(app).client_timeout

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sock: socket.socket | None = environ.get("gunicorn.socket")
        length = _content_length(environ)
        body: DeadlineInput | None = None
        if sock is not None and length != 0:
            body = DeadlineInput(environ["wsgi.input"], sock, time.monotonic() + self.timeout, length)
            environ["wsgi.input"] = body

        def respond(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            if body is not None and not body.finished:
                # Answered without the rest of its body: stop reading this connection, so the server does not
                # wait for bytes nobody needs before its next request (gunicorn ignores "Connection: close" from
                # an app); the answer is still sent, then the connection closes.
                with contextlib.suppress(OSError):
                    body.sock.shutdown(socket.SHUT_RD)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, respond)
        except BodyTimedOut as exc:  # raised outside Flask (the message lane reads bodies itself)
            payload = json.dumps({"ok": False, "message": exc.description, "code": "request_timeout"}).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
            respond("408 Request Timeout", headers)
            return [payload]


def _content_length(environ: WSGIEnvironment) -> int | None:
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return None
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def install_slow_client_guard(app: Flask) -> None:
    # Flask's documented way to add a WSGI middleware, which mypy reads as replacing a method.
    app.wsgi_app = SlowClientGuard(app)  # type: ignore[method-assign]
