"""Attacks: forged and replayed callbacks, unauthenticated calls, CSRF, leaked secrets."""

import json
import logging
import re

import pytest

from tests.conftest import UPSTREAM, make_test_app
from tests.support import CALLBACK_PATH, add_session, envelope, events_of
from wxwork_demo.config import ConfigError, load_settings
from wxwork_demo.services.intake.counters import all_counters, flush_counts

MESSAGE = {"msgtype": 2, "content": "hi", "sender": 7881302555913738, "msg_id": 1011720, "server_id": 7130717}


def callback(client, payload=MESSAGE, type_code=102000, path=CALLBACK_PATH, uuid="U1"):
    return client.post(path, json={"uuid": uuid, "type": type_code, "json": json.dumps(payload)})


@pytest.mark.parametrize(
    "path", ["/callback/wxwork", "/callback/wxwork?token=", "/callback/wxwork?token=wrong-token-0123456789"]
)
def test_forged_callbacks_are_refused_counted_and_not_stored(app, client, path):
    add_session(app, "U1", vid="1688", is_login=True, state="online")
    response = callback(client, {"vid": 1688, "msg": "fake"}, 100008, path=path)
    assert response.status_code == 403 and response.get_json()["ok"] is False
    assert events_of(app) == []
    with app.app_context():
        flush_counts()
        assert all_counters()["callbacks_rejected"] == 1
    assert client.get("/api/state").get_json()["active"]["state"] == "online"


def test_allow_list_refuses_other_addresses(database_url):
    app = make_test_app(
        database_url, CALLBACK_ALLOWED_IPS=load_settings({"CALLBACK_ALLOWED_IPS": "10.1.0.0/16"}).callback_allowed_ips
    )
    client = app.test_client()
    assert callback(client).status_code == 403  # the test client comes from 127.0.0.1
    ok = client.post(
        CALLBACK_PATH, json={"uuid": "U1", "type": 102000, "json": "{}"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert ok.status_code == 200
    app.extensions["wxwork_db"].engine.dispose()


def test_a_redelivered_callback_is_stored_once_and_still_acknowledged(app, client):
    first, again = callback(client), callback(client)
    assert first.get_json() == {"errcode": 0, "errmsg": "ok"}
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert len(events_of(app, stage="callback")) == 1


def test_distinct_messages_are_never_merged(app, client):
    for payload in (MESSAGE, {**MESSAGE, "msg_id": 1011721}, {**MESSAGE, "server_id": 1}, {**MESSAGE, "referid": 5}):
        assert "duplicate" not in callback(client, payload).get_json()
    callback(client, MESSAGE, uuid="U2")  # the same ids on another instance
    callback(client, MESSAGE, type_code=102006)  # a read receipt of the message
    assert len(events_of(app, stage="callback")) == 6


def test_redelivery_is_recognised_across_restarts_and_workers(database_url):
    first_worker, second_worker = make_test_app(database_url), make_test_app(database_url)
    assert "duplicate" not in callback(first_worker.test_client()).get_json()
    assert callback(second_worker.test_client()).get_json()["duplicate"] is True
    assert len(events_of(first_worker, stage="callback")) == 1
    for app in (first_worker, second_worker):
        app.extensions["wxwork_db"].engine.dispose()


def test_the_registered_callback_url_carries_a_generated_token_when_none_is_set(database_url, upstream):
    app = make_test_app(database_url, CALLBACK_TOKEN="")
    add_session(app, "U1")
    upstream.post(f"{UPSTREAM}/wxwork/SetCallbackUrl", json=envelope(None, 0, "设置成功"))
    client = app.test_client()
    body = client.post("/api/set-callback", json={}).get_json()
    token = re.search(r"token=([\w-]+)", json.loads(upstream.calls[0].request.body)["url"]).group(1)
    assert len(token) >= 32 and token not in json.dumps(body)
    # The same token in another worker (read from the database), and it opens the webhook.
    other = make_test_app(database_url, CALLBACK_TOKEN="")
    assert (
        other.test_client()
        .post(f"/callback/wxwork?token={token}", json={"uuid": "U1", "type": 1, "json": "{}"})
        .status_code
        == 200
    )
    for each in (app, other):
        each.extensions["wxwork_db"].engine.dispose()


@pytest.fixture
def locked_app(database_url):
    app = make_test_app(database_url, CONSOLE_PASSWORD="correct horse battery", API_TOKEN="api-token-0123456789abcdef")
    yield app
    app.extensions["wxwork_db"].engine.dispose()


def test_api_needs_the_bearer_token(locked_app):
    client = locked_app.test_client()
    assert client.get("/api/state").status_code == 401
    assert client.get("/api/state", headers={"Authorization": "Bearer nope"}).status_code == 401
    response = client.get("/api/state", headers={"Authorization": "Bearer api-token-0123456789abcdef"})
    assert response.status_code == 200
    assert client.get("/api/health").status_code == 200  # open for load balancers
    assert client.post("/api/send-text", json={"content": "x"}).status_code == 401


def test_console_login_session_and_csrf(locked_app):
    client = locked_app.test_client()
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"password": "wrong", "csrf": csrf}).status_code == 401
    assert client.post("/login", data={"password": "correct horse battery", "csrf": "forged"}).status_code == 400
    assert client.post("/login", data={"password": "correct horse battery", "csrf": csrf}).status_code == 302
    assert client.get("/api/state").status_code == 200
    # A state-changing call with the cookie but without the CSRF header is refused (cross-site forgery).
    assert client.post("/api/monitor/stop").status_code == 403
    with client.session_transaction() as session:
        token = session["csrf"]
    assert client.post("/api/monitor/stop", headers={"X-CSRF-Token": token}).status_code == 200
    client.post("/logout", data={"csrf": token})
    assert client.get("/api/state").status_code == 401


def test_login_never_redirects_off_site(locked_app):
    client = locked_app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    response = client.post("/login", data={"password": "correct horse battery", "csrf": csrf, "next": "//evil.example"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_refuses_to_listen_beyond_loopback_without_credentials(host):
    with pytest.raises(ConfigError, match="HOST"):
        load_settings({"HOST": host})
    assert load_settings({"HOST": host, "API_TOKEN": "x" * 20}).host == host
    assert load_settings({"HOST": "127.0.0.1"}).host == "127.0.0.1"


def test_open_on_loopback_without_credentials(client):
    assert client.get("/api/state").status_code == 200
    assert client.get("/").status_code == 200


def test_secrets_never_reach_events_logs_or_responses(database_url, upstream, caplog):
    password, api_token, proxy_password = "console-pass-42", "api-token-SECRET-0123456789", "proxy-p4ss-word"
    app = make_test_app(
        database_url, CONSOLE_PASSWORD=password, API_TOKEN=api_token, CALLBACK_TOKEN="cb-token-SECRET-0123456789"
    )
    client = app.test_client()
    auth = {"Authorization": f"Bearer {api_token}"}
    upstream.post(f"{UPSTREAM}/wxwork/init", json=envelope({"uuid": "U1", "is_login": "false"}))
    upstream.post(f"{UPSTREAM}/wxwork/SetCallbackUrl", json=envelope(None, 0, "设置成功"))
    upstream.post(f"{UPSTREAM}/wxwork/getQrCode", json=envelope({"qrcode": "http://q.png", "Key": "K", "Ttl": 600}))
    caplog.set_level(logging.DEBUG)
    responses = [
        client.post(
            "/api/start-login",
            json={"ip": "1.2.3.4", "port": "1080", "userName": "u", "passward": proxy_password},
            headers=auth,
        ),
        client.get("/api/state", headers=auth),
        client.get("/api/events", headers=auth),
        client.get("/api/health"),
        client.post(
            "/callback/wxwork?token=cb-token-SECRET-0123456789", json={"uuid": "U1", "type": 100001, "json": "{}"}
        ),
        client.post("/callback/wxwork?token=wrong-token-0123456789", json={"uuid": "U1", "type": 100001, "json": "{}"}),
        client.get("/api/state", headers={"Authorization": f"Bearer {api_token}x"}),
    ]
    assert json.loads(upstream.calls[0].request.body)["passward"] == proxy_password  # the upstream does get it
    written = "\n".join(r.get_data(as_text=True) for r in responses)
    written += "\n".join(json.dumps(e.payload, ensure_ascii=False) for e in events_of(app))
    written += "\n".join(record.getMessage() for record in caplog.records)
    for secret in (password, api_token, proxy_password, "cb-token-SECRET-0123456789"):
        assert secret not in written, secret
    app.extensions["wxwork_db"].engine.dispose()


def test_non_json_and_oversized_bodies(client):
    response = client.post("/api/send-text", data="content=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.get_json()["ok"] is False
    big = {"content": "x" * 2_000_000}
    response = client.post("/api/send-text", json=big)
    assert response.status_code == 413 and response.get_json()["ok"] is False
    assert client.post("/api/monitor/stop").status_code == 200  # no body at all is fine
