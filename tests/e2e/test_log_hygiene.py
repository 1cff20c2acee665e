"""Tokens never reach the logs, even when everything fails (real gunicorn, a database that does not answer).

With CALLBACK_TOKEN unset, the webhook reads the generated token from the database: when the database is
frozen (MariaDB stopped with SIGSTOP) or cannot be opened (SQLite), a fresh worker cannot check a token.
Every callback must still get the JSON 503 of the error contract (never gunicorn's HTML 500), and no line of
gunicorn's log, at debug level, access lines included, may hold the token or any query string. A request line
gunicorn itself refuses (it logs it) is tried too.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pymysql
import pytest
import requests
from gunicorn.config import Config

from tests.conftest import skip_or_fail
from tests.test_database_faults import PrivateMariaDB, _missing_server
from wxwork_demo.log_scrubbing import GunicornLogger
from wxwork_demo.schema import upgrade_database

TOKEN = "generated-token-never-logged-0123456789"
WRONG = "wrong-token-never-logged-9876543210"
QUERY_IN_A_PATH = re.compile(r"[\w/.~%-]\?[^\s\"'<>]")


@pytest.fixture(scope="module")
def mariadb():
    reason = _missing_server()
    if reason:
        skip_or_fail(reason)
    root = Path(tempfile.mkdtemp(prefix="wxwork-logs-"))
    server = PrivateMariaDB(root)
    try:
        server.install()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite-unopenable", "mariadb-frozen"])
def db_url(request, tmp_path):
    """Overrides tests/e2e/conftest.py's: a database holding the generated callback token."""
    if request.param == "sqlite-unopenable":
        path = tmp_path / "a-folder-not-a-database"
        path.mkdir()
        return f"sqlite:///{path}"
    server = request.getfixturevalue("mariadb")
    connection = pymysql.connect(host="127.0.0.1", port=server.port, user="root", autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS wxwork_logs")
        cursor.execute("CREATE DATABASE wxwork_logs CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = f"{server.server_url}/wxwork_logs?charset=utf8mb4"
    upgrade_database(url)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO wxwork_logs.app_secrets (name, value) VALUES ('callback_token', %s)", (TOKEN,))
    connection.close()
    return url


def _bad_request_line(port: int) -> bytes:
    """A request line gunicorn refuses itself, and logs: it must not log the query string."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET /callback/wxwork?token={TOKEN}\r\n\r\n".encode())
        return sock.recv(4096)


def test_failing_callbacks_answer_json_and_logs_hold_no_token(request, db_url, start_gunicorn):
    proc = start_gunicorn(WEB_CONCURRENCY="1", LOG_LEVEL="debug", GUNICORN_ACCESSLOG="-", MONITOR_AUTOSTART="0")
    frozen = "mariadb" in request.node.callspec.id
    if frozen:
        request.getfixturevalue("mariadb").freeze()
    message = {"uuid": "U1", "type": 102000, "json": json.dumps({"msg_id": 1, "content": "hi"})}
    login = {"uuid": "U1", "type": 104001, "json": json.dumps({"user_id": "1688"})}

    def post(case: tuple[str, dict]) -> tuple[requests.Response, float]:
        token, body = case
        started = time.monotonic()
        response = requests.post(f"{proc.url}/callback/wxwork?token={token}", json=body, timeout=90)
        return response, time.monotonic() - started

    try:
        cases = [(TOKEN, message), (TOKEN, login), (WRONG, message), (WRONG, login)] * 2
        with ThreadPoolExecutor(max_workers=len(cases)) as pool:
            outcomes = list(pool.map(post, cases))
        refused_line = _bad_request_line(int(proc.url.rsplit(":", 1)[1]))
    finally:
        if frozen:
            request.getfixturevalue("mariadb").thaw()
    proc.stop()
    log = proc.log()
    for response, elapsed in outcomes:
        assert response.status_code == 503, (response.status_code, response.text[:300])
        assert response.headers["Content-Type"] == "application/json", response.headers
        body = response.json()
        assert body["ok"] is False and "database" in body["message"], body
        assert elapsed < 60, elapsed
    assert refused_line.startswith(b"HTTP/1.1 400"), refused_line[:200]
    assert "POST /callback/wxwork" in log, log[-2000:]  # the access log was on
    assert "Invalid HTTP request line: 'GET /callback/wxwork" in log, log[-2000:]
    assert TOKEN not in log and WRONG not in log, [line for line in log.splitlines() if "token" in line][:5]
    assert not QUERY_IN_A_PATH.search(log), QUERY_IN_A_PATH.search(log)
    print(f"\n{len(outcomes)} callbacks: JSON 503 in {max(e for _, e in outcomes):.1f} s at most; log clean")


def test_gunicorns_own_error_line_and_the_apps_records_lose_their_query_strings(tmp_path):
    """The line of the finding (`Error handling request POST /callback/wxwork?token=…`, with its traceback)
    and an app record, through the logger gunicorn.conf.py names."""
    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("loglevel", "debug")
    logger = GunicornLogger(cfg)
    root = logging.getLogger()
    try:
        try:
            raise RuntimeError(f"failed on http://127.0.0.1/callback/wxwork?token={TOKEN}&x=1")
        except RuntimeError:
            logger.exception("Error handling request %s %s", "POST", f"/callback/wxwork?token={TOKEN}")
        logger.debug("GET /api/events?after=5")
        logging.getLogger("wxwork_demo.somewhere").warning("posting to %s", f"/callback/wxwork?token={WRONG}")
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_gunicorn", False)]:
            root.removeHandler(handler)
            handler.close()
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request POST /callback/wxwork?<query hidden>" in text, text
    assert "RuntimeError: failed on http://127.0.0.1/callback/wxwork?<query hidden>" in text, text
    assert "posting to /callback/wxwork?<query hidden>" in text and "GET /api/events?<query hidden>" in text
    assert TOKEN not in text and WRONG not in text and not QUERY_IN_A_PATH.search(text), text
