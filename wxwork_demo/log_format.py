"""How log lines look: gunicorn's text (LOG_FORMAT=text, the default) or one JSON object per line (LOG_FORMAT=json).

A JSON line holds `time` (ISO-8601 UTC), `level`, `logger`, `message` and whatever the record was given with
`extra=` (an account's lifecycle line: `event`, `uuid`, `vid`, `from`, `to`, `cause`), plus `exception` when it
has one. Log shippers then need no parsing rules. Query strings are cut before any formatter runs
(log_scrubbing.py), so the callback token reaches neither form.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

FORMATS = ("text", "json")
# The attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = {
            "time": moment.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of LOG_FORMAT: JSON, or the text of gunicorn's error log with a timestamp."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(
        "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S %z"
    )


def log_to_stderr(log_format: str, level: str = "info") -> None:
    """For processes gunicorn does not run (`wxwork monitor run`): the app's lines on stderr, in LOG_FORMAT."""
    from wxwork_demo.log_scrubbing import FILTER

    root = logging.getLogger()
    for handler in list(root.handlers):  # a second call (the same process) replaces the first one's handler
        if getattr(handler, "_wxwork_stderr", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._wxwork_stderr = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(FILTER)
    root.addHandler(handler)
    logging.getLogger("wxwork_demo").setLevel(level.upper())
