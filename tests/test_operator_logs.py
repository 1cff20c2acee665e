"""What operators read in the logs (issue 17.8): a line per change of an account's lifecycle, JSON lines with
LOG_FORMAT=json, timestamps on access lines, and the console's polling left out of the access log."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from tests.conftest import CALLBACK_TOKEN
from tests.support import CALLBACK_PATH, add_session
from wxwork_demo.config import ConfigError, load_settings
from wxwork_demo.log_format import JsonFormatter
from wxwork_demo.log_scrubbing import FILTER, GunicornLogger


@pytest.fixture
def json_lines():
    """The app's log records as LOG_FORMAT=json writes them (with the query-string filter, as in gunicorn)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(FILTER)
    logger = logging.getLogger("wxwork_demo")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_an_account_logging_in_and_dropping_is_one_json_line_each(app, client, json_lines):
    add_session(app, "U1", state="waiting_code", vid="")
    login = {"user_id": 1688853790599424, "nickname": "姓名"}
    client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 104001, "json": json.dumps(login)})
    client.post(CALLBACK_PATH, json={"uuid": "U1", "type": 100008, "json": json.dumps({"msg": "其他设备登录"})})

    lines = [line for line in json_lines() if line.get("event") == "account_state"]

    assert [(line["from"], line["to"]) for line in lines] == [("waiting_code", "online"), ("online", "needs_person")]
    first = lines[0]
    assert first["level"] == "info" and first["logger"] == "wxwork_demo.services.instances.state"
    assert first["uuid"] == "U1" and first["vid"] == "1688853790599424" and first["cause"] == "callback 104001"
    assert first["time"].endswith("Z") and "waiting_code -> online" in first["message"]
    assert CALLBACK_TOKEN not in json.dumps(json_lines())


def test_json_lines_hold_no_query_string():
    record = logging.LogRecord("wxwork_demo.x", logging.WARNING, __file__, 1, "POST %s", ("/cb?token=s3cret",), None)
    FILTER.filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "POST /cb?<query hidden>" and "s3cret" not in json.dumps(line)


def test_log_format_is_checked_at_start():
    assert load_settings({"LOG_FORMAT": "JSON"}, dotenv=False).log_format == "json"
    assert load_settings({}, dotenv=False).log_format == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json, got 'xml'"):
        load_settings({"LOG_FORMAT": "xml"}, dotenv=False)


def _access_log(tmp_path, monkeypatch, log_format: str) -> tuple[GunicornLogger, object]:
    monkeypatch.setenv("LOG_FORMAT", log_format)
    path = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(path))
    cfg.set("access_log_format", __import__("wxwork_demo.gunicorn_conf").gunicorn_conf.access_log_format)
    return GunicornLogger(cfg), path


def _request(logger: GunicornLogger, path: str, status: int) -> None:
    response = SimpleNamespace(status=f"{status} X", status_code=status, sent=2, response_length=2, headers=[])
    request = SimpleNamespace(path=path, query="", method="GET", uri=path, version=(1, 1), headers=[])
    environ = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": path, "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET"}
    environ["PATH_INFO"] = path
    logger.access(response, request, environ, timedelta(milliseconds=3))


def test_the_consoles_polling_is_left_out_of_the_access_log(tmp_path, monkeypatch):
    logger, path = _access_log(tmp_path, monkeypatch, "text")
    _request(logger, "/api/state", 200)
    _request(logger, "/api/events", 200)
    _request(logger, "/api/send-text", 200)
    _request(logger, "/api/state", 503)  # a failing poll is worth a line
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and "/api/send-text" in lines[0] and "/api/state" in lines[1] and " 503 " in lines[1]
    assert lines[0].startswith("[")  # gunicorn's %(t)s: [30/Nov/2026:10:00:00 +0000]


def test_access_lines_are_json_with_log_format_json(tmp_path, monkeypatch):
    logger, path = _access_log(tmp_path, monkeypatch, "json")
    _request(logger, "/api/send-text", 200)
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["logger"] == "gunicorn.access" and "/api/send-text" in line["message"] and line["level"] == "info"
