"""Send text and contacts: exact upstream bodies, validation that sends nothing, failures that say so."""

import pytest
import requests

from tests.conftest import UPSTREAM
from tests.support import add_session, envelope, events_of, sent_json

SENT = {"receiver": 7881302555913738, "sender": 1688853790599424, "msg_id": 1066230, "content": "你好"}


def url(action):
    return f"{UPSTREAM}/wxwork/{action}"


def test_send_text_posts_the_documented_body(app, client, upstream):
    add_session(app, "U1", is_login=True)
    upstream.post(url("SendTextMsg"), json=envelope(SENT))
    response = client.post(
        "/api/send-text", json={"send_userid": "7881302555913738", "isRoom": "false", "content": "你好"}
    )
    assert response.status_code == 200
    expected = {"uuid": "U1", "kf_id": 0, "send_userid": 7881302555913738, "isRoom": False, "content": "你好"}
    assert sent_json(upstream.calls[0]) == expected
    answer = response.get_json()
    assert answer.pop("sentAt").endswith("Z") and answer.pop("waitedMs") == 0
    assert answer == {
        "ok": True,
        "request": expected,
        "raw": envelope(SENT),
        "msgId": str(SENT["msg_id"]),
        "serverId": str(SENT.get("server_id") or ""),
    }
    [event] = events_of(app, stage="send_text")
    assert event.event_type == "SendTextMsg" and event.payload["request"]["content"] == "你好"


def test_send_text_accepts_the_camel_case_aliases(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("SendTextMsg"), json=envelope(SENT))
    client.post("/api/send-text", json={"uuid": "U1", "sendUserid": 42, "isRoom": 1, "content": "x", "kfId": "7"})
    assert sent_json(upstream.calls[0]) == {"uuid": "U1", "kf_id": 7, "send_userid": 42, "isRoom": True, "content": "x"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"isRoom": False, "content": "x"}, "send_userid"),
        ({"send_userid": 1, "content": "x"}, "isRoom"),
        ({"send_userid": 1, "isRoom": "maybe", "content": "x"}, "isRoom"),
        ({"send_userid": 1, "isRoom": 2, "content": "x"}, "isRoom"),
        ({"send_userid": 1, "isRoom": False}, "content"),
        ({"send_userid": 1, "isRoom": False, "content": "   "}, "content"),
        ({"send_userid": 1, "isRoom": False, "content": 5}, "content"),
        ({"send_userid": "12ab", "isRoom": False, "content": "x"}, "send_userid"),
        ({"send_userid": 1, "isRoom": False, "content": "x", "kf_id": "k"}, "kf_id"),
    ],
)
def test_send_text_bad_input_is_a_400_naming_the_field(app, client, upstream, body, field):
    add_session(app, "U1")
    response = client.post("/api/send-text", json=body)
    assert response.status_code == 400
    assert response.get_json()["ok"] is False and response.get_json()["field"] == field
    assert field in response.get_json()["message"]
    assert len(upstream.calls) == 0


def test_send_text_needs_a_session(client, upstream):
    response = client.post("/api/send-text", json={"send_userid": 1, "isRoom": False, "content": "x"})
    assert response.status_code == 400 and response.get_json()["field"] == "uuid"
    assert len(upstream.calls) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1,2]", b'"text"'])
def test_non_json_bodies_are_400(app, client, upstream, raw):
    add_session(app, "U1")
    response = client.post("/api/send-text", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["field"] == "body"
    assert len(upstream.calls) == 0


@pytest.mark.parametrize(
    ("failure", "status", "kind"),
    [
        ({"body": requests.ConnectionError("refused")}, 502, "unreachable"),
        ({"body": requests.ReadTimeout("slow")}, 504, "timeout"),
        ({"status": 500, "body": "oops"}, 502, "http_error"),
        ({"status": 200, "body": "<html>"}, 502, "not_json"),
        ({"json": envelope(None, 500, "实例未登录")}, 502, "refused"),
        ({"json": envelope(None, -11025, "出现二次验证，请重新获取二维码登录")}, 502, "refused"),
    ],
)
def test_upstream_failures_are_clear_errors_with_an_event(app, client, upstream, failure, status, kind):
    add_session(app, "U1")
    upstream.post(url("SendTextMsg"), **failure)
    response = client.post("/api/send-text", json={"send_userid": 1, "isRoom": False, "content": "x"})
    assert response.status_code == status
    body = response.get_json()
    assert body["ok"] is False and body["upstream"]["kind"] == kind and body["message"]
    [event] = events_of(app, stage="send_text_error")  # the old demo's stage of a failed send
    assert event.event_type == f"SendTextMsg:{kind}"
    assert event.payload["request"]["content"] == "x" and event.payload["error"]["kind"] == kind


INNER = {
    "list": [{"is_Department": 1, "party_name": "研发部"}, {"is_Department": 0, "realname": "张三"}],
    "seq": "a_b_c",
}
EXTERNAL = {"list": [{"user_id": 7881302555913738, "seq": 8052931}], "seq": 8052931}


def test_contacts_pages_both_lists_with_documented_cursors(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("GetInnerContacts"), json=envelope(INNER))
    upstream.post(url("GetExternalContacts"), json=envelope(EXTERNAL))
    body = client.post(
        "/api/contacts", json={"inner": {"limit": 10, "strSeq": "x_y"}, "external": {"limit": 5, "seq": 77}}
    ).get_json()
    sent = {c.request.url.rsplit("/", 1)[1]: sent_json(c) for c in upstream.calls}
    assert sent == {
        "GetInnerContacts": {"uuid": "U1", "limit": 10, "strSeq": "x_y"},
        "GetExternalContacts": {"uuid": "U1", "limit": 5, "seq": 77},
    }
    assert body["ok"] is True and body["uuid"] == "U1"
    assert body["summary"] == {"innerCount": 2, "externalCount": 1}
    assert body["inner"]["data"] == INNER and body["external"]["data"] == EXTERNAL
    assert body["request"]["inner"] == sent["GetInnerContacts"]


def test_contacts_defaults_and_legacy_flat_fields(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("GetInnerContacts"), json=envelope(INNER))
    upstream.post(url("GetExternalContacts"), json=envelope(EXTERNAL))
    client.post("/api/contacts", json={})
    client.post(
        "/api/contacts", json={"innerLimit": 3, "innerStrSeq": "s", "externalLimit": "4", "externalStrSeq": "99"}
    )
    sent = [(c.request.url.rsplit("/", 1)[1], sent_json(c)) for c in upstream.calls]
    assert ("GetInnerContacts", {"uuid": "U1", "limit": 100, "strSeq": ""}) in sent
    assert ("GetExternalContacts", {"uuid": "U1", "limit": 100, "seq": 0}) in sent
    assert ("GetInnerContacts", {"uuid": "U1", "limit": 3, "strSeq": "s"}) in sent
    assert ("GetExternalContacts", {"uuid": "U1", "limit": 4, "seq": 99}) in sent


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inner": {"limit": 0}}, "inner.limit"),
        ({"inner": {"limit": -3}}, "inner.limit"),
        ({"external": {"limit": "ten"}}, "external.limit"),
        ({"external": {"limit": 1.5}}, "external.limit"),
        ({"external": {"seq": "abc"}}, "external.seq"),
        ({"inner": {"strSeq": 5}}, "inner.strSeq"),
        ({"inner": "all"}, "inner"),
    ],
)
def test_contacts_bad_input(app, client, upstream, body, field):
    add_session(app, "U1")
    response = client.post("/api/contacts", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field
    assert len(upstream.calls) == 0


def test_contacts_failure_of_one_list_fails_the_call(app, client, upstream):
    add_session(app, "U1")
    upstream.post(url("GetInnerContacts"), json=envelope(INNER))
    upstream.post(url("GetExternalContacts"), body=requests.ReadTimeout("slow"))
    response = client.post("/api/contacts", json={})
    assert response.status_code == 504 and response.get_json()["ok"] is False
    assert [e.event_type for e in events_of(app, stage="get_contacts")] == ["GetInnerContacts"]
    assert [e.event_type for e in events_of(app, stage="get_contacts_error")] == ["GetExternalContacts:timeout"]
