"""The webhook: decoded by type code, stored before it is acknowledged, session state kept in step."""

import json

import pytest
from flask import request
from sqlalchemy.exc import OperationalError

from tests.support import CALLBACK_PATH, add_session, events_of, session_row

LOGIN_PAYLOAD = {"user_id": 1688853790599424, "corp_id": 1970325109135931, "nickname": "姓名", "Vid": 0}


def post(client, uuid, type_code, payload, as_string=True):
    body = {"uuid": uuid, "type": type_code, "json": json.dumps(payload) if as_string else payload}
    return client.post(CALLBACK_PATH, json=body)


def test_login_success_marks_the_session_and_stores_the_vid(app, client):
    add_session(app, "U1", qrcode="http://qr", qrcode_key="K")
    response = post(client, "U1", 104001, LOGIN_PAYLOAD)
    assert response.status_code == 200 and response.get_json() == {"errcode": 0, "errmsg": "ok"}
    row = session_row(app, "U1")
    assert row.is_login is True and row.vid == "1688853790599424" and row.last_event == "login-success"
    [event] = events_of(app, stage="callback")
    assert event.event_type == "104001" and event.session_uuid == "U1" and event.payload == LOGIN_PAYLOAD


def test_login_success_replaces_older_rows_of_the_same_account(app, client):
    add_session(app, "OLD", vid="1688853790599424", is_login=False)
    add_session(app, "NEW")
    post(client, "NEW", 104001, LOGIN_PAYLOAD)
    assert session_row(app, "OLD") is None and session_row(app, "NEW").is_login is True


@pytest.mark.parametrize(("type_code", "state"), [(100001, "scanned"), (100004, "need-code")])
def test_scan_callbacks_store_the_qr_key(app, client, type_code, state):
    add_session(app, "U1", qrcode_key="OLDKEY")
    payload = {"Vid": 1688857826547606, "Qrcode_key": "E58DBF1516D268A519CC0C714FA0B50D", "Nick_name": "x"}
    post(client, "U1", str(type_code), payload, as_string=False)
    row = session_row(app, "U1")
    assert row.qrcode_key == "E58DBF1516D268A519CC0C714FA0B50D" and row.last_event == state


@pytest.mark.parametrize("type_code", [100005, 100007, 100008, 100009, 100012])
def test_disconnects_mark_the_session_offline(app, client, type_code):
    add_session(app, "U1", vid="1688857826547606", is_login=True)
    response = post(client, "U1", type_code, {"vid": 1688857826547606, "msg": "登陆缓存失效，请重新登录。"})
    assert response.status_code == 200
    row = session_row(app, "U1")
    assert row.is_login is False and row.last_event == f"disconnect:{type_code}"
    assert row.last_error == "登陆缓存失效，请重新登录。"
    # RECONNECT_ON (default 100007) is the one code a silent reconnect answers; the others wait for a person.
    assert (row.state, row.next_action) == {
        100005: ("needs_person", "alert_person"),
        100007: ("offline", "reconnect"),
        100008: ("needs_person", "alert_person"),
        100009: ("needs_person", ""),
        100012: ("needs_person", "secondary_validation"),
    }[type_code]


def test_corp_switch_moves_the_account_to_its_new_id(app, client):
    add_session(app, "U1", vid="1688854256622049", is_login=True, state="online")
    switched = {
        "this_vid": 1688854256622049,
        "vid": 1688857338601153,
        "corpid": 1970326674001513,
        "corp_name": "哼哈二将",
        "nickname": "奥利给干就完了",
        "avatar": "https://wework.qpic.cn/x/0",
    }
    assert post(client, "U1", 100006, switched).status_code == 200
    row = session_row(app, "U1")
    assert (row.vid, row.corp_name, row.account_name) == ("1688857338601153", "哼哈二将", "奥利给干就完了")
    assert row.state == "online" and row.last_event == "corp-switch"


def test_messages_are_stored_and_do_not_touch_sessions(app, client):
    add_session(app, "U1", is_login=True, last_event="login-success")
    message = {"msgtype": 2, "content": "<script>alert(1)</script>", "sender": 7881302555913738, "msg_id": 1}
    assert post(client, "U1", 102000, message).status_code == 200
    [event] = events_of(app, stage="callback")
    assert event.event_type == "102000" and event.payload == message
    assert session_row(app, "U1").last_event == "login-success"


def test_callback_for_an_unknown_uuid_is_still_stored(app, client):
    assert post(client, "ghost", 102000, {"msgtype": 2}).status_code == 200
    assert events_of(app, session_uuid="ghost")[0].event_type == "102000"


@pytest.mark.parametrize(
    ("json_field", "stored"),
    [("not json at all", {"text": "not json at all"}), ("", {}), (None, {}), ("[1,2]", {"value": [1, 2]})],
)
def test_payloads_that_are_not_objects_are_kept(app, client, json_field, stored):
    assert client.post(CALLBACK_PATH, json={"uuid": "U", "type": 102000, "json": json_field}).status_code == 200
    assert events_of(app, stage="callback")[0].payload == stored


@pytest.mark.parametrize(
    ("body", "field"),
    [({"uuid": "U", "json": "{}"}, "type"), ({"uuid": "U", "type": "abc", "json": "{}"}, "type"), ([1], "body")],
)
def test_malformed_callbacks_are_400_and_not_stored(app, client, body, field):
    response = client.post(CALLBACK_PATH, json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field
    assert events_of(app) == []


def test_callback_not_stored_is_not_acknowledged(app, client, monkeypatch):
    def broken_commit(self, dbapi_connection):
        raise OperationalError("COMMIT", {}, Exception("Lost connection to MySQL server"))

    # Every commit fails, whichever way a callback is written (ORM session or the batch's driver connection).
    monkeypatch.setattr("sqlalchemy.engine.default.DefaultDialect.do_commit", broken_commit)
    response = post(client, "U1", 102000, {"msgtype": 2})
    assert response.status_code == 503
    assert response.get_json()["ok"] is False and "errcode" not in response.get_json()
    monkeypatch.undo()
    assert events_of(app) == []  # rolled back: the upstream sends it again, and it is stored then
    assert post(client, "U1", 102000, {"msgtype": 2}).get_json() == {"errcode": 0, "errmsg": "ok"}
    assert len(events_of(app)) == 1


def test_a_login_repeated_after_the_session_moved_on_is_applied_but_a_redelivery_is_not(app, client):
    add_session(app, "U1", state="waiting_scan")
    assert "duplicate" not in post(client, "U1", 104001, LOGIN_PAYLOAD).get_json()
    assert post(client, "U1", 104001, LOGIN_PAYLOAD).get_json()["duplicate"] is True  # redelivered
    # Secondary verification, then the same account logs in again on the same instance: same payload.
    post(client, "U1", 100012, {"vid": 1688853790599424, "msg": "出现二次验证"})
    assert session_row(app, "U1").state == "needs_person"
    assert "duplicate" not in post(client, "U1", 104001, LOGIN_PAYLOAD).get_json()
    assert session_row(app, "U1").state == "online"
    assert post(client, "U1", 104001, LOGIN_PAYLOAD).get_json()["duplicate"] is True
    assert [e.event_type for e in events_of(app, stage="callback")] == ["104001", "100012", "104001"]


# ----- the message lane (blueprints/callback.py): the same answers as the view, without Flask -----------


@pytest.fixture
def through_flask(app):
    """The paths of the requests Flask itself handled (it tore their request context down)."""
    seen: list[str] = []
    app.teardown_request(lambda _exc: seen.append(request.path))
    return seen


def test_message_callbacks_take_the_lane_and_answer_as_the_view_does(app, client, through_flask):
    from werkzeug.test import Client

    # The same app with the lane left out (it sits inside the slow-client guard): Flask and the blueprint.
    view_only = Client(app.wsgi_app.wsgi_app.flask)
    body = {"uuid": "U1", "type": 102000, "json": json.dumps({"msg_id": 1, "content": "hi"})}
    by_lane = client.post(CALLBACK_PATH, json=body)
    assert through_flask == []
    by_view = view_only.post(CALLBACK_PATH, json={**body, "json": json.dumps({"msg_id": 2, "content": "hi"})})
    assert through_flask == ["/callback/wxwork"]
    for answer in (by_lane, by_view):
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"  # what every answer carries
        assert json.loads(answer.data) == {"errcode": 0, "errmsg": "ok"}
    assert [e.payload["msg_id"] for e in events_of(app, stage="callback")] == [1, 2]
    # A redelivery is recognised on either door.
    assert client.post(CALLBACK_PATH, json=body).get_json()["duplicate"] is True
    assert json.loads(view_only.post(CALLBACK_PATH, json=body).data)["duplicate"] is True
    assert len(events_of(app, stage="callback")) == 2


def test_the_lane_is_a_named_step_of_create_app_not_a_side_effect_of_registering_views(app):
    """Issue 12.4: registering the blueprints installs nothing in front of Flask; create_app's own
    `install_message_lane` step does, between the views and the layers in front of both doors."""
    from flask import Flask

    from wxwork_demo import install_message_lane
    from wxwork_demo.blueprints import register_blueprints
    from wxwork_demo.blueprints.callback import MessageLane

    bare = Flask("views-only")
    flask_door = bare.wsgi_app
    register_blueprints(bare)
    assert bare.wsgi_app == flask_door
    install_message_lane(bare)
    assert isinstance(bare.wsgi_app, MessageLane) and bare.wsgi_app.flask == flask_door
    layers = []  # from the outside in: the slow-client guard, then the lane, then Flask
    wsgi = app.wsgi_app
    while wsgi is not None:
        layers.append(type(wsgi).__name__)
        wsgi = getattr(wsgi, "wsgi_app", None) or getattr(wsgi, "flask", None)
    assert layers[-2:] == ["MessageLane", "method"] and layers.count("MessageLane") == 1


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"json": {"uuid": "U1", "type": 104001, "json": "{}"}}, 200),  # a session callback
        ({"json": {"uuid": "U1", "type": "abc", "json": "{}"}}, 400),  # no type code
        ({"json": [1, 2]}, 400),  # not an object
        ({"data": b"{broken", "content_type": "application/json"}, 400),
        ({"data": b"", "content_type": "application/json"}, 400),
        ({"data": b"uuid=U1", "content_type": "application/x-www-form-urlencoded"}, 415),
    ],
    ids=["session-callback", "bad-type", "array", "broken-json", "empty", "form"],
)
def test_what_the_lane_does_not_take_flask_answers(app, client, through_flask, request_kwargs, status):
    response = client.post(CALLBACK_PATH, **request_kwargs)
    assert response.status_code == status, response.data
    assert through_flask == ["/callback/wxwork"]
    assert response.get_json().get("ok") is False or status == 200


def test_a_refused_callback_is_counted_once_and_answered_by_flask(app, client, through_flask):
    from wxwork_demo.services.intake.counters import all_counters, flush_counts

    response = client.post("/callback/wxwork?token=wrong", json={"uuid": "U1", "type": 102000, "json": "{}"})
    assert response.status_code == 403 and through_flask == ["/callback/wxwork"]
    with app.app_context():
        flush_counts()
        assert all_counters()["callbacks_rejected"] == 1
    assert events_of(app) == []


def test_a_body_over_the_limit_is_413_from_flask(app, client, through_flask):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    payload = {"uuid": "U1", "type": 102000, "json": json.dumps({"content": "x" * 4096})}
    response = client.post(CALLBACK_PATH, json=payload)
    assert response.status_code == 413 and response.get_json()["ok"] is False
    assert events_of(app) == []
