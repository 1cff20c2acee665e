"""No log line holds a query string: the callback URL carries its token there (`?token=`).

`QueryStringFilter` rewrites each record it sees, message, traceback and stack alike, cutting whatever
follows a `?` after a path or URL. It sits on every handler gunicorn writes through (`GunicornLogger`,
named in gunicorn.conf.py), which covers gunicorn's own lines (a request line it could not parse, an error
handling a request) at every level, and on werkzeug's request log for `flask run` (`hide_query_strings`).
The app's own records reach gunicorn's error log through the root logger, so they pass the same filter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http import Request
from gunicorn.http.wsgi import Response

from wxwork_demo.config import load_settings

# A "?" right after a path or host character, and the query that follows, up to a space or a quote.
QUERY_STRING = re.compile(r"(?<=[\w/.~%-])\?[^\s\"'<>]*")
HIDDEN = "?<query hidden>"


def scrub(text: str) -> str:
    return QUERY_STRING.sub(HIDDEN, text) if "?" in text else text


class QueryStringFilter(logging.Filter):
    """Cuts query strings out of a record before any handler formats it; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it when it formats it
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


FILTER = QueryStringFilter()


def _filter_handlers(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)


# The console polls these every couple of seconds: two thirds of an access log, and nothing an operator reads.
POLLING_PATHS = frozenset({"/api/state", "/api/events"})


class GunicornLogger(Logger):
    """gunicorn's logger with the filter on its handlers, and the app's records sent to its error log
    (formatted as gunicorn's lines, or JSON with LOG_FORMAT=json) instead of Python's bare last resort. The
    app's own lines come at LOG_LEVEL (an account's lifecycle is logged at info); the console's polling is left
    out of the access log unless it fails."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        _filter_handlers(self.error_log)
        _filter_handlers(self.access_log)
        if load_settings().log_format == "json":  # the environment and .env, as gunicorn_conf.py read them
            from wxwork_demo.log_format import JsonFormatter

            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        for handler in list(root.handlers):  # those of a previous setup (a reload replaces them)
            if getattr(handler, "_gunicorn", False):
                root.removeHandler(handler)
        for handler in self.error_log.handlers:
            root.addHandler(handler)
        logging.getLogger("wxwork_demo").setLevel(self.error_log.level)

    def access(self, resp: Response, req: Request, environ: MutableMapping[str, Any], request_time: timedelta) -> None:
        status = getattr(resp, "status_code", None) or 0
        if req.path in POLLING_PATHS and int(status) < 400:
            return
        super().access(resp, req, environ, request_time)


def hide_query_strings() -> None:
    """For `flask run`: werkzeug logs each request line, query string included."""
    werkzeug = logging.getLogger("werkzeug")
    if FILTER not in werkzeug.filters:
        werkzeug.addFilter(FILTER)
