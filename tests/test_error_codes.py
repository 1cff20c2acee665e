"""One rule for errors (issue 17.2, 17.9): every error body carries a stable machine `code` beside `ok: false` and
`message`, and every upstream failure names the URL it called, the same words in the API, the CLI and the
monitor."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import CALLBACK_TOKEN, UPSTREAM, make_test_app
from tests.support import add_session, close_app, envelope, session_row

API_TOKEN = "codes-api-token-0123456789"


def url(action: str) -> str:
    return f"{UPSTREAM}/wxwork/{action}"


def assert_error(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["ok"] is False and isinstance(body["message"], str) and body["code"] == code, body
    return body


def test_request_errors_carry_their_code(app, client, upstream):
    add_session(app, "FRESH")
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert_error(client.get("/api/send-text"), 405, "method_not_allowed")
    assert_error(client.post("/api/init", data="x", content_type="text/plain"), 415, "unsupported_media_type")
    assert_error(client.post("/api/check-code", json={"uuid": "FRESH", "code": "12"}), 400, "bad_input")
    assert_error(client.post("/api/get-qrcode", json={"uuid": "nope"}), 404, "unknown_instance")
    assert_error(client.post("/api/check-code", json={"uuid": "FRESH", "code": "123456"}), 400, "no_qrcode_key")
    assert_error(client.post("/api/sessions/reconnect", json={"uuid": "FRESH"}), 400, "never_logged_in")
    pending = client.post("/api/sessions/secondary-validation", json={"uuid": "FRESH"})
    assert_error(pending, 409, "no_secondary_verification")
    refused = client.post("/callback/wxwork?token=wrong", json={"uuid": "FRESH", "type": 100001, "json": "{}"})
    assert_error(refused, 403, "callback_refused")
    big = client.post("/api/init", data=json.dumps({"ip": "x" * 2_000_000}), content_type="application/json")
    assert_error(big, 413, "body_too_large")


def test_no_active_instance_and_a_refused_code(app, client, upstream):
    assert_error(client.post("/api/get-qrcode", json={}), 400, "no_active_instance")
    add_session(app, "U1", qrcode_key="K")
    upstream.post(url("CheckCode"), json={"data": None, "errcode": -1, "errmsg": "验证码错误"})
    body = assert_error(client.post("/api/check-code", json={"uuid": "U1", "code": "123456"}), 400, "code_refused")
    assert body["raw"]["errmsg"] == "验证码错误"


@pytest.mark.parametrize(
    ("answer", "status", "code", "words"),
    [
        ({"status": 404, "body": "Not Found"}, 502, "upstream_http_error", "upstream init answered HTTP 404"),
        ({"json": envelope(None, 500, "服务繁忙")}, 502, "upstream_refused", "upstream init refused: errcode 500"),
        ({"body": "<html>"}, 502, "upstream_not_json", "upstream init answered with a body that is not JSON"),
        ({"body": requests.ConnectionError("refused")}, 502, "upstream_unreachable", "upstream init unreachable"),
        ({"body": requests.ReadTimeout("slow")}, 504, "upstream_timeout", "upstream init timed out"),
    ],
    ids=["http-404", "refused", "not-json", "unreachable", "timeout"],
)
def test_every_upstream_failure_names_the_url_it_called(client, upstream, answer, status, code, words):
    upstream.post(url("init"), **answer)
    body = assert_error(client.post("/api/init", json={}), status, code)
    assert body["message"].startswith(words)
    assert f"(POST {UPSTREAM}/wxwork/init)" in body["message"]
    assert body["stage"] == "init" and body["upstream"]["url"] == f"{UPSTREAM}/wxwork/init"


def test_credentials_in_base_url_are_not_repeated(database_url, upstream):
    upstream.post("http://ops:pa55word@upstream.test/wxwork/init", status=404)
    app = make_test_app(database_url, BASE_URL="http://ops:pa55word@upstream.test")
    try:
        body = app.test_client().post("/api/init", json={}).get_json()
    finally:
        close_app(app)
    assert body["upstream"]["url"] == "http://upstream.test/wxwork/init" and "pa55word" not in json.dumps(body)


def test_access_refusals_carry_their_code(database_url):
    app = make_test_app(database_url, API_TOKEN=API_TOKEN)
    client = app.test_client()
    try:
        assert_error(client.get("/api/state"), 401, "authentication_required")
        assert_error(client.get("/api/state", headers={"Authorization": "Bearer nope"}), 401, "invalid_token")
        remote = client.get("/api/state", environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert_error(remote, 401, "authentication_required")
    finally:
        close_app(app)
    open_app = make_test_app(database_url)
    try:
        remote = open_app.test_client().get("/api/state", environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert_error(remote, 403, "loopback_only")
    finally:
        close_app(open_app)


def test_the_cli_names_the_upstream_and_the_url_of_a_failure(runner, upstream):
    upstream.post(url("init"), status=404, body="Not Found")
    result = runner.invoke(args=["login", "first", "--timeout", "1"])
    assert result.exit_code == 1
    assert f"upstream: {UPSTREAM}" in result.output
    assert f"upstream init answered HTTP 404 (POST {UPSTREAM}/wxwork/init)" in result.output


def test_the_monitor_names_the_url_of_a_failed_reconnect(app, upstream):
    from wxwork_demo.services.monitor.reconnect import reconnect

    add_session(app, "U1", vid="1688", state="offline")
    upstream.post(url("init"), body=requests.ConnectionError("refused"))
    with app.app_context():
        assert reconnect(session_row(app, "U1").id) is False
    row = session_row(app, "U1")
    assert row.state == "offline" and f"(POST {UPSTREAM}/wxwork/init)" in row.state_reason
    assert CALLBACK_TOKEN not in row.state_reason
