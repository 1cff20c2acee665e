"""Strict input: every POST endpoint refuses what is not a small JSON body, and always answers JSON.

- a body that is not application/json → 415; larger than MAX_BODY_BYTES → 413; not valid JSON, or JSON
  that is not an object → 400 naming `field: "body"`;
- unknown routes → 404 and wrong methods → 405, as JSON too;
- never an HTML page, never a traceback.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import CALLBACK_TOKEN, make_test_app
from tests.support import close_app

API_TOKEN = "strict-input-token-0123456789"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
MAX_BODY_BYTES = 2048
CALLBACK = f"/callback/wxwork?token={CALLBACK_TOKEN}"

POST_PATHS = [
    "/api/init",
    "/api/set-callback",
    "/api/get-qrcode",
    "/api/start-login",
    "/api/check-code",
    "/api/automatic-login",
    "/api/refresh-run-client",
    "/api/send-text",
    "/api/send-image",
    "/api/send-file",
    "/api/revoke",
    "/api/friend-requests/accept",
    "/api/contacts",
    "/api/monitor/start",
    "/api/monitor/stop",
    "/api/sessions/activate",
    "/api/sessions/reconnect",
    "/api/sessions/secondary-validation",
    "/api/sessions/delete",
    "/api/deliveries/replay",
    "/api/forward/test",
    "/callback/wxwork",
]
GET_PATHS = [
    "/api/health",
    "/api/ready",
    "/api/openapi.json",
    "/api/upstream-check",
    "/api/state",
    "/api/events",
    "/api/messages",
    "/api/messages/<int:message_id>",
    "/api/conversations",
    "/api/deliveries",
    "/api/rooms",
    "/api/rooms/<room_id>/members",
    "/api/friend-requests",
    "/api/sent",
    "/api/messages/<int:message_id>/media",
]
# Endpoints for which an empty body is not "{}" but missing input.
BODY_REQUIRED = {
    "/api/send-text",
    "/api/send-image",
    "/api/send-file",
    "/api/revoke",
    "/api/friend-requests/accept",
    "/api/deliveries/replay",
    "/callback/wxwork",
}
# Endpoints that also take a multipart/form-data upload (its fields read like the JSON body's).
UPLOAD_PATHS = {"/api/send-image", "/api/send-file"}


@pytest.fixture
def app(sqlite_template, tmp_path, upstream):
    # `upstream` (responses) answers any request to the upstream with a connection error: nothing leaves.
    path = tmp_path / "strict.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(
        f"sqlite:///{path}", API_TOKEN=API_TOKEN, MAX_CONTENT_LENGTH=MAX_BODY_BYTES, MONITOR_AUTOSTART=False
    )
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


def _url(path: str) -> str:
    return CALLBACK if path == "/callback/wxwork" else path


def assert_json_error(response, status: int) -> dict:
    """`status`, a JSON error body `{ok: false, message}`, and nothing of an HTML page or a traceback."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text[:500])
    assert response.mimetype == "application/json", (response.mimetype, text[:500])
    assert "<html" not in text.lower() and "Traceback" not in text, text[:500]
    body = json.loads(text)
    assert body["ok"] is False and isinstance(body["message"], str) and body["message"], body
    assert isinstance(body.get("code"), str) and body["code"], body  # the stable machine code (issue 17.9)
    return body


def test_the_lists_cover_every_route(app):
    documented = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/", "/callback/"))
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    listed = {(path, "POST") for path in POST_PATHS} | {(path, "GET") for path in GET_PATHS}
    assert documented == listed


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", "hello"),
        ("application/x-www-form-urlencoded", "uuid=u-1&code=123456"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'),
        ("application/xml", "<uuid>u-1</uuid>"),
        (None, '{"uuid": "u-1"}'),
    ],
    ids=["text", "form", "multipart", "xml", "no-content-type"],
)
def test_a_body_that_is_not_json_is_415(client, path, content_type, data):
    headers = dict(AUTH)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(_url(path), data=data, headers=headers)
    if path in UPLOAD_PATHS and content_type and content_type.startswith("multipart/"):
        assert assert_json_error(response, 400)["field"] == "send_userid"  # read, and found wanting
        return
    assert_json_error(response, 415)


@pytest.mark.parametrize("path", POST_PATHS)
def test_a_body_over_max_body_bytes_is_413(client, path):
    body = json.dumps({"uuid": "u-1", "content": "x" * (MAX_BODY_BYTES + 100)})
    response = client.post(_url(path), data=body, content_type="application/json", headers=AUTH)
    assert_json_error(response, 413)


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize(
    "raw",
    [b"{bad", b'{"uuid": "u-1",}', b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"42", b"null", b"[" * 2000],
    ids=["broken", "trailing-comma", "not-utf8", "array", "string", "number", "null", "deep"],
)
def test_malformed_json_is_400_naming_the_body(client, path, raw):
    response = client.post(_url(path), data=raw, content_type="application/json", headers=AUTH)
    body = assert_json_error(response, 400)
    assert body["field"] == "body", body


@pytest.mark.parametrize("path", sorted(BODY_REQUIRED))
@pytest.mark.parametrize("raw", [b"", b"   \n"], ids=["empty", "blank"])
def test_an_empty_body_where_one_is_required_is_400(client, path, raw):
    response = client.post(_url(path), data=raw, content_type="application/json", headers=AUTH)
    body = assert_json_error(response, 400)
    assert body["field"] == "body", body


@pytest.mark.parametrize("path", ["/api/nope", "/api/send-text/extra", "/callback/other", "/nope", "/api/"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_routes_are_404_json(client, path, method):
    response = client.open(path, method=method, json={} if method == "POST" else None, headers=AUTH)
    assert_json_error(response, 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", POST_PATHS)
def test_wrong_methods_on_post_endpoints_are_405_json(client, path, method):
    response = client.open(_url(path), method=method, headers=AUTH)
    assert_json_error(response, 405)
    assert "POST" in response.headers.get("Allow", "")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", GET_PATHS)
def test_wrong_methods_on_get_endpoints_are_405_json(client, path, method):
    response = client.open(
        path.replace("<int:message_id>", "1").replace("<room_id>", "1"), method=method, json={}, headers=AUTH
    )
    assert_json_error(response, 405)
    assert "GET" in response.headers.get("Allow", "")


def test_errors_before_authentication_are_json_too(client):
    """Without a token: content type and size are refused first, then the missing token; all JSON."""
    assert_json_error(client.post("/api/send-text", data="x", content_type="text/plain"), 415)
    assert_json_error(client.post("/api/send-text", json={"uuid": "u"}), 401)
    assert_json_error(client.post("/api/send-text", data="{bad", content_type="application/json"), 401)
    assert_json_error(client.post("/callback/wxwork?token=wrong", json={"type": 1}), 403)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # Each of these answered 500 (ValueError) before the fix named beside it.
        ("/api/contacts", {"inner": {"limit": "²"}}, "inner.limit"),  # "²".isdigit() but int("²") fails
        ("/api/contacts", {"innerLimit": "9" * 5000}, "inner.limit"),  # int() of > 4300 digits
        ("/api/contacts", {"external": {"seq": "²"}}, "external.seq"),
        ("/api/contacts", {"externalSeq": "9" * 5000}, "external.seq"),
        ("/api/set-callback", {"url": "http://["}, "url"),  # urlsplit: Invalid IPv6 URL
        ("/api/start-login", {"callbackUrl": "http://[::1"}, "url"),
        ("/api/set-callback", {"url": "http://"}, "url"),  # no host
        # Ids are 64-bit: a longer one used to be accepted (and overflowed MySQL's VARCHAR(64) for vid).
        ("/api/init", {"vid": 10**70}, "vid"),
        ("/api/send-text", {"send_userid": 2**64, "isRoom": False, "content": "x"}, "send_userid"),
        ("/api/contacts", {"external": {"seq": 2**64}}, "external.seq"),
    ],
)
def test_values_that_once_broke_the_views_are_400(app, client, path, body, field):
    app.config["MAX_CONTENT_LENGTH"] = 1_048_576  # the default: room for 5000 digits
    response = client.post(path, json=body, headers=AUTH)
    assert assert_json_error(response, 400)["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # A lone surrogate reached the upstream (UnicodeEncodeError, 500) or the database (503) before.
        ("/api/send-text", {"send_userid": 1, "isRoom": False, "content": "hi \ud800"}, "content"),
        ("/api/send-text", {"send_userid": 1, "isRoom": False, "content": "a\x00b"}, "content"),
        ("/api/send-text", {"uuid": "u-\udfff", "send_userid": 1, "isRoom": False, "content": "x"}, "uuid"),
        ("/api/init", {"userName": "\udfff"}, "userName"),
        ("/api/init", {"ip": "10.0.0.1\r\nX: 1"}, "ip"),
        ("/api/set-callback", {"callbackUrl": "http://h/\ud800"}, "callbackUrl"),
        ("/api/contacts", {"inner": {"strSeq": "\ud800"}}, "inner.strSeq"),
        ("/api/check-code", {"code": "123456", "qrcodeKey": "k\x00"}, "qrcodeKey"),
        # Digits int() reads but an upstream id is not made of.
        ("/api/send-text", {"send_userid": "١٢٣", "isRoom": False, "content": "x"}, "send_userid"),
    ],
)
def test_text_that_cannot_go_on_is_400_before_any_upstream_call(client, upstream, path, body, field):
    raw = json.dumps(body)  # ASCII with \u escapes, as a client sends a lone surrogate
    response = client.post(path, data=raw, content_type="application/json", headers=AUTH)
    assert assert_json_error(response, 400)["field"] == field
    assert field in response.get_json()["message"]
    assert len(upstream.calls) == 0


@pytest.mark.parametrize("after", ["²", "9" * 5000, "-1", "1.5", str(2**63), ""])
def test_a_bad_events_cursor_is_400_naming_it(client, after):
    """`after=²` was a 500 (str.isdigit() says yes, int() says no), 5000 digits too."""
    response = client.get("/api/events", query_string={"after": after}, headers=AUTH)
    assert assert_json_error(response, 400)["field"] == "after"
