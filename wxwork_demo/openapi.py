"""The OpenAPI 3.1 description of the local API, served at `GET /api/openapi.json`.

Built in code so the limits are the ones `validation.py` enforces. The request schemas describe what the
views accept (aliases, ids as integers or digit strings, booleans as "true"/"false"/1/0, null meaning
"not given"); the response schemas name the fields clients read and allow added ones. tests/test_openapi.py
checks that every route under /api and /callback is described here, and tests/test_api_fuzz.py runs
schemathesis against the app with this document.
"""

from __future__ import annotations

import copy
from typing import Any

from wxwork_demo.validation import MAX_ID, MAX_TEXT

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"

Schema = dict[str, Any]


# ----- building blocks ----------------------------------------------------------------------------


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(max_length: int, description: str = "") -> Schema:
    """A short text field: a string (trimmed) or a number, null or absent meaning "not given"."""
    schema: Schema = {"type": ["string", "integer", "null"], "maxLength": max_length}
    if description:
        schema["description"] = description
    return schema


def _id(description: str, *, nullable: bool = True) -> Schema:
    """A 64-bit upstream id: a JSON integer or a decimal string."""
    types = ["integer", "string", "null"] if nullable else ["integer", "string"]
    return {
        "type": types,
        "minimum": 0,
        "maximum": MAX_ID,
        "pattern": "^([0-9]{1,19})?$" if nullable else "^[0-9]{1,19}$",
        "description": description,
    }


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


UUID = _text(64, "The upstream instance; defaults to the active session (the most recently updated one).")
LIMIT: Schema = {
    "type": ["integer", "string", "null"],
    "minimum": 1,
    "maximum": 1000,
    "pattern": "^(0*[1-9][0-9]{0,2}|0*1000)?$",
    "description": "Page size, 1..1000 (default 100).",
}
CURSOR: Schema = {
    "type": ["integer", "string", "null"],
    "minimum": 0,
    "maximum": MAX_ID,
    "pattern": "^([0-9]{1,19})?$",
    "description": "Numeric cursor of the external contacts (default 0).",
}
CALLBACK_URL: Schema = {
    "type": ["string", "null"],
    "maxLength": 512,
    "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
    "description": "Where the upstream posts this instance's events (default CALLBACK_URL with its token).",
}
INIT_FIELDS: dict[str, Schema] = {
    "vid": _id("The account's vid, to reuse a device (empty: a new device)."),
    "ip": _text(64, "Proxy host."),
    "port": _text(8, "Proxy port."),
    "proxyType": _text(16),
    "userName": _text(128, "Proxy user."),
    "passward": _text(128, "Proxy password (the upstream's spelling)."),
    "proxySituation": {"enum": [0, 1, "0", "1", "", None], "description": "0 no proxy (default), 1 proxy."},
    "deverType": _text(32, 'Device type (default "ipad").'),
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {
            "ok": {"const": False},
            "message": {"type": "string", "description": "What went wrong, for people."},
            "field": {"type": "string", "description": "The request field at fault (400, and 404 for uuid)."},
            "stage": {"type": "string", "description": "The upstream action that failed."},
            "upstream": {"type": "object", "description": "How the upstream call failed (kind, action, …)."},
            "raw": {"description": "The upstream's answer, when there was one."},
            "detail": {"type": "string"},
        },
        ("ok", "message"),
    ),
    "UpstreamReply": {
        "type": "object",
        "description": "The upstream's JSON envelope as received: {data, errcode, errmsg, …}.",
    },
    "Session": _object(
        {
            "uuid": {"type": "string"},
            "vid": {"type": "string"},
            "isLogin": {"type": "boolean"},
            "qrcode": {"type": "string", "description": "QR image URL or data: URL."},
            "qrcodeKey": {"type": "string"},
            "lastEvent": {"type": "string"},
            "lastError": {"type": "string"},
            "updatedAt": {"type": "string", "description": "ISO-8601 UTC, empty when there is no session."},
            "state": {"type": "string"},
            "stateReason": {"type": "string"},
            "account": _object({"name": {"type": "string"}, "corp": {"type": "string"}, "avatar": {"type": "string"}}),
            "qrcodeExpiresAt": {"type": "string"},
            "reconnectAttempts": {"type": "integer"},
            "nextActionAt": {"type": "string"},
            "notice": {
                "type": ["object", "null"],
                "description": "The latest ban or restriction notice (kind ban/notice/deleted/blocked, text, at; "
                "title, reason, functions, start, finish when getBanDetile explained it).",
            },
            "silentSince": {
                "type": "string",
                "description": "Online, but no callback since then (SILENCE_ALERT_S); empty otherwise.",
            },
        },
        ("uuid", "vid", "isLogin", "qrcode", "qrcodeKey", "lastEvent", "lastError", "updatedAt"),
    ),
    "MonitorStatus": _object(
        {
            "enabled": {"type": "boolean"},
            "running": {"type": "boolean"},
            "lastCheckAt": {"type": "string"},
            "lastReconnectAt": {"type": "string"},
            "reconnecting": {"type": "boolean"},
            "intervalMs": {"type": "integer"},
            "owner": {"type": "string"},
            "schedulerHere": {"type": "boolean"},
        },
        ("enabled", "running", "lastCheckAt", "lastReconnectAt", "reconnecting", "intervalMs"),
    ),
    "Event": _object(
        {
            "id": {"type": "integer"},
            "sessionUuid": {"type": "string"},
            "stage": {"type": "string"},
            "eventType": {"type": "string"},
            "payload": {"type": "object"},
            "createdAt": {"type": "string"},
        },
        ("id", "sessionUuid", "stage", "eventType", "payload", "createdAt"),
    ),
}

ERRORS: dict[str, str] = {
    "400": "Bad input: `field` names the field and `message` says why.",
    "401": "API_TOKEN or CONSOLE_PASSWORD is set and the request carries neither a valid token nor a session.",
    "403": "A console session without the right X-CSRF-Token header (callbacks: wrong token or sender).",
    "404": "Unknown session uuid.",
    "409": "The session is not in a state that allows this (e.g. no secondary verification is pending).",
    "413": "The body is larger than MAX_BODY_BYTES.",
    "415": "A body that is not application/json.",
    "502": "The upstream answered badly: an HTTP error, not JSON, or an errcode refusal.",
    "503": "The database is unreachable (or not migrated): try again shortly.",
    "504": "The upstream did not answer in time.",
}
RESPONSES: dict[str, Schema] = {
    code: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
    for code, text in ERRORS.items()
}


def _ok(properties: dict[str, Schema], required: tuple[str, ...] = (), description: str = "Success") -> Schema:
    schema = _object({"ok": {"const": True}, **properties}, ("ok", *required))
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _json_response(schema: Schema, description: str = "Success") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Schema]:
    return {code: {"$ref": f"#/components/responses/{code}"} for code in codes}


def _body(schema: Schema, *, required: bool = False) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


# What each kind of operation can answer besides 200.
READ_ERRORS = ("401", "503")
POST_ERRORS = ("400", "401", "403", "413", "415", "503")
UPSTREAM_ERRORS = (*POST_ERRORS, "404", "502", "504")


def _get(operation_id: str, summary: str, ok: Schema, errors: tuple[str, ...], **extra: Any) -> Schema:
    return {
        "get": {"operationId": operation_id, "summary": summary, "responses": {"200": ok, **_errors(*errors)}, **extra}
    }


def _post(
    operation_id: str,
    summary: str,
    body: Schema,
    ok: Schema,
    errors: tuple[str, ...],
    *,
    body_required: bool = False,
    tags: tuple[str, ...] = (),
    **extra: Any,
) -> Schema:
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "requestBody": _body(body, required=body_required),
        "responses": {"200": ok, **_errors(*errors)},
        **extra,
    }
    if tags:
        operation["tags"] = list(tags)
    return {"post": operation}


UUID_BODY = _object({"uuid": UUID})
REQUIRED_UUID_BODY = _object(
    {"uuid": {"type": ["string", "integer"], "minLength": 1, "maxLength": 64, "pattern": "\\S"}}, ("uuid",)
)
OPEN: list = []  # `security: []`: no credentials needed


def _paths() -> dict[str, Schema]:
    reply = _ref("UpstreamReply")
    return {
        "/api/health": _get(
            "health",
            "Liveness; needs neither the database nor credentials",
            _ok(
                {"now": {"type": "string"}, "baseUrl": {"type": "string"}, "callbackUrl": {"type": "string"}},
                ("now", "baseUrl", "callbackUrl"),
            ),
            (),
            security=OPEN,
            tags=["reads"],
        ),
        "/api/openapi.json": _get(
            "openapi",
            "This document",
            _json_response(_object({"openapi": {"type": "string"}, "paths": {"type": "object"}}, ("openapi", "paths"))),
            (),
            security=OPEN,
            tags=["reads"],
        ),
        "/api/upstream-check": _get(
            "upstreamCheck",
            "Ping the upstream with GetRunClient; `ok` says whether it answered",
            _json_response(
                _object(
                    {
                        "ok": {"type": "boolean"},
                        "status": {"type": ["integer", "null"]},
                        "baseUrl": {"type": "string"},
                        "raw": {"description": "The upstream's answer (absent or null when there was none)."},
                        "message": {"type": "string"},
                    },
                    ("ok", "status", "baseUrl"),
                )
            ),
            READ_ERRORS,
            tags=["reads"],
        ),
        "/api/state": _get(
            "state",
            "The active session, every session, the monitor and the events count",
            _json_response(
                _object(
                    {
                        "active": _ref("Session"),
                        "sessions": {"type": "array", "items": _ref("Session")},
                        "monitor": _ref("MonitorStatus"),
                        "eventsCount": {"type": "integer"},
                        "baseUrl": {"type": "string"},
                        "callbackUrl": {"type": "string"},
                    },
                    ("active", "monitor", "eventsCount", "baseUrl", "callbackUrl"),
                )
            ),
            READ_ERRORS,
            tags=["reads"],
        ),
        "/api/events": _get(
            "events",
            "The newest events first, at most MAX_EVENTS",
            _json_response(_object({"events": {"type": "array", "items": _ref("Event")}}, ("events",))),
            READ_ERRORS,
            parameters=[
                {"name": "session", "in": "query", "schema": {"type": "string"}, "description": "A session uuid."},
                {"name": "stage", "in": "query", "schema": {"type": "string"}, "description": "e.g. callback."},
                {"name": "type", "in": "query", "schema": {"type": "string"}, "description": "e.g. 104001."},
            ],
            tags=["reads"],
        ),
        "/api/init": _post(
            "init",
            "Create an upstream instance (init) and store it as a session",
            _object(INIT_FIELDS),
            _ok(
                {"uuid": {"type": "string"}, "isLogin": {"type": "boolean"}, "init": reply}, ("uuid", "isLogin", "init")
            ),
            (*POST_ERRORS, "502", "504"),
            tags=("login",),
        ),
        "/api/set-callback": _post(
            "setCallback",
            "Register the callback URL with the upstream (SetCallbackUrl)",
            _object({"uuid": UUID, "url": CALLBACK_URL, "callbackUrl": CALLBACK_URL}),
            _ok(
                {"uuid": {"type": "string"}, "callbackUrl": {"type": "string"}, "callback": reply},
                ("uuid", "callbackUrl", "callback"),
            ),
            UPSTREAM_ERRORS,
            tags=("login",),
        ),
        "/api/get-qrcode": _post(
            "getQrcode",
            "Get a login QR code (getQrCode)",
            UUID_BODY,
            _ok(
                {
                    "uuid": {"type": "string"},
                    "qrcode": {"type": "string"},
                    "qrcodeKey": {"type": "string"},
                    "ttl": {"type": "integer"},
                    "getQrCode": reply,
                },
                ("uuid", "qrcode", "qrcodeKey", "getQrCode"),
            ),
            UPSTREAM_ERRORS,
            tags=("login",),
        ),
        "/api/start-login": _post(
            "startLogin",
            "init, SetCallbackUrl and getQrCode in one call",
            _object({**INIT_FIELDS, "url": CALLBACK_URL, "callbackUrl": CALLBACK_URL}),
            _ok(
                {
                    "uuid": {"type": "string"},
                    "isLogin": {"type": "boolean"},
                    "qrcode": {"type": "string"},
                    "qrcodeKey": {"type": "string"},
                    "ttl": {"type": "integer"},
                },
                ("uuid", "isLogin", "qrcode", "qrcodeKey"),
            ),
            UPSTREAM_ERRORS,
            tags=("login",),
        ),
        "/api/check-code": _post(
            "checkCode",
            "Submit the 6-digit code the phone shows (CheckCode); a refused code is a 400",
            _object(
                {
                    "uuid": UUID,
                    "code": {
                        "anyOf": [
                            {"type": "string", "pattern": "^[0-9]{6}$"},
                            {"type": "integer", "minimum": 100000, "maximum": 999999},
                        ]
                    },
                    "qrcodeKey": _text(128, "Defaults to the session's key from getQrCode."),
                },
                ("code",),
            ),
            _ok({"raw": reply}, ("raw",)),
            UPSTREAM_ERRORS,
            body_required=True,
            tags=("login",),
        ),
        "/api/automatic-login": _post(
            "automaticLogin",
            "Log in again without a scan (automaticLogin)",
            UUID_BODY,
            _ok({"raw": reply}, ("raw",)),
            UPSTREAM_ERRORS,
            tags=("login",),
        ),
        "/api/refresh-run-client": _post(
            "refreshRunClient",
            "GetRunClient and GetRunClientByUuid together; stores the login state they report",
            UUID_BODY,
            _ok(
                {
                    "request": _object({"uuid": {"type": "string"}}, ("uuid",)),
                    "isLogin": {"type": "boolean"},
                    "getRunClient": reply,
                    "getRunClientByUuid": reply,
                },
                ("request", "getRunClient", "getRunClientByUuid"),
            ),
            UPSTREAM_ERRORS,
            tags=("login",),
        ),
        "/api/send-text": _post(
            "sendText",
            "Send a text to a contact or a group (SendTextMsg)",
            _object(
                {
                    "uuid": UUID,
                    "send_userid": _id("The contact or group id.", nullable=False),
                    "sendUserid": _id("Alias of send_userid.", nullable=False),
                    "isRoom": {
                        "enum": [True, False, 1, 0, "true", "false", "1", "0"],
                        "description": "true for a group.",
                    },
                    "content": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": "\\S"},
                    "kf_id": _id("Customer-service id (default 0)."),
                    "kfId": _id("Alias of kf_id."),
                },
                ("isRoom", "content"),
                anyOf=[{"required": ["send_userid"]}, {"required": ["sendUserid"]}],
            ),
            _ok({"request": {"type": "object"}, "raw": reply}, ("request", "raw")),
            UPSTREAM_ERRORS,
            body_required=True,
            tags=("business",),
        ),
        "/api/contacts": _post(
            "contacts",
            "One page of inner and one of external contacts, fetched together",
            _object(
                {
                    "uuid": UUID,
                    "inner": {
                        "type": ["object", "null"],
                        "properties": {"limit": LIMIT, "strSeq": {"type": "string"}},
                    },
                    "external": {
                        "type": ["object", "null"],
                        "properties": {"limit": LIMIT, "seq": CURSOR, "strSeq": CURSOR},
                    },
                    "innerLimit": LIMIT,
                    "innerStrSeq": {"type": "string"},
                    "externalLimit": LIMIT,
                    "externalStrSeq": CURSOR,
                    "externalSeq": CURSOR,
                }
            ),
            _ok(
                {
                    "uuid": {"type": "string"},
                    "request": _object({"inner": {"type": "object"}, "external": {"type": "object"}}),
                    "summary": _object(
                        {"innerCount": {"type": "integer"}, "externalCount": {"type": "integer"}},
                        ("innerCount", "externalCount"),
                    ),
                    "inner": reply,
                    "external": reply,
                },
                ("uuid", "request", "summary", "inner", "external"),
            ),
            UPSTREAM_ERRORS,
            tags=("business",),
        ),
        "/api/monitor/start": _post(
            "monitorStart",
            "Turn the background monitor on",
            {"type": "object"},
            _ok(
                {
                    "monitor": _object(
                        {"enabled": {"type": "boolean"}, "intervalMs": {"type": "integer"}}, ("enabled", "intervalMs")
                    )
                },
                ("monitor",),
            ),
            POST_ERRORS,
            tags=("monitor",),
        ),
        "/api/monitor/stop": _post(
            "monitorStop",
            "Turn the background monitor off",
            {"type": "object"},
            _ok({"monitor": _object({"enabled": {"type": "boolean"}}, ("enabled",))}, ("monitor",)),
            POST_ERRORS,
            tags=("monitor",),
        ),
        "/api/sessions/activate": _post(
            "activateSession",
            "Make a session the active one (the default of every `uuid`)",
            REQUIRED_UUID_BODY,
            _ok({"active": _ref("Session")}, ("active",)),
            (*POST_ERRORS, "404"),
            body_required=True,
            tags=("sessions",),
        ),
        "/api/sessions/reconnect": _post(
            "reconnectSession",
            "Bring a known account back now: init(vid), SetCallbackUrl, automaticLogin (else a new QR code)",
            REQUIRED_UUID_BODY,
            _ok({"online": {"type": "boolean"}, "session": _ref("Session")}, ("online", "session")),
            (*POST_ERRORS, "404"),
            body_required=True,
            tags=("sessions",),
        ),
        "/api/sessions/secondary-validation": _post(
            "secondaryValidation",
            "Fetch a new SecondaryValidation QR code for an account waiting for secondary verification",
            REQUIRED_UUID_BODY,
            _ok({"session": _ref("Session")}, ("session",)),
            (*POST_ERRORS, "404", "409"),
            body_required=True,
            tags=("sessions",),
        ),
        "/callback/wxwork": _post(
            "callback",
            "The upstream's webhook: answered once the event is stored (503 makes the sender retry)",
            _object(
                {
                    "uuid": {"description": "The instance (any JSON value, read as text)."},
                    "type": {
                        "type": ["integer", "string"],
                        "pattern": "^-?[0-9]{1,18}$",
                        "description": "The event code, e.g. 104001.",
                    },
                    "json": {"description": "The event: an object, or a JSON string of one."},
                },
                ("type",),
            ),
            _json_response(
                _object(
                    {"errcode": {"const": 0}, "errmsg": {"const": "ok"}, "duplicate": {"type": "boolean"}},
                    ("errcode", "errmsg"),
                ),
                "Stored (or already stored: `duplicate`)",
            ),
            ("400", "403", "413", "415", "503"),
            body_required=True,
            security=OPEN,
            parameters=[
                {
                    "name": "token",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "CALLBACK_TOKEN: the registered callback URL carries it.",
                }
            ],
            tags=("webhook",),
        ),
    }


# ----- the inbox and forwarding (services/inbox/, services/forwarding/) -----------------------------

ID_TEXT = {"type": "string", "description": "An upstream id as a decimal string (never a lossy JSON number)."}
SCHEMAS["Message"] = _object(
    {
        "id": {"type": "integer"},
        "uuid": {"type": "string"},
        "account": ID_TEXT,
        "type": {"type": "integer", "description": "The callback type code (102000 for messages)."},
        "msgtype": {"type": ["integer", "null"]},
        "conversation": {"type": "string", "description": "The room id in rooms, else the other person."},
        "isRoom": {"type": "boolean"},
        "sender": ID_TEXT,
        "receiver": ID_TEXT,
        "content": {"type": "string"},
        "msgId": ID_TEXT,
        "serverId": ID_TEXT,
        "sendTime": {"type": "string"},
        "receivedAt": {"type": "string"},
        "isSync": {"type": "boolean", "description": "Pushed again by SyncAllData (catch-up)."},
        "atList": {"type": "array"},
        "media": {"type": ["object", "null"]},
        "payload": {"type": "object", "description": "The callback's payload; integers beyond 2^53 as strings."},
    },
    ("id", "uuid", "account", "type", "conversation", "isRoom", "sender", "content", "receivedAt"),
)
SCHEMAS["Delivery"] = _object(
    {
        "id": {"type": "integer", "description": "The X-Wxwork-Delivery header of every attempt."},
        "messageId": {"type": "integer"},
        "target": {"type": "string"},
        "status": {"enum": ["pending", "delivered", "dead"]},
        "attempts": {"type": "integer"},
        "lastStatus": {"type": ["integer", "null"]},
        "lastError": {"type": "string"},
        "nextAttemptAt": {"type": "string"},
        "deliveredAt": {"type": "string"},
    },
    ("id", "messageId", "target", "status", "attempts"),
)
COUNTS = _object(
    {"pending": {"type": "integer"}, "delivered": {"type": "integer"}, "dead": {"type": "integer"}},
    ("pending", "delivered", "dead"),
)


def _query(name: str, description: str, pattern: str = "", max_length: int = 64) -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_length}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "query", "schema": schema, "description": description}


DIGITS = "^[0-9]{1,18}$"
PAGE = _query("limit", "Page size, 1..500 (default 50).", "^0*([1-9][0-9]?|[1-4][0-9]{2}|500)$")
SCOPE = [
    _query("uuid", "An instance: its account's messages (default: the active instance)."),
    _query("account", "An account (vid); wins over uuid."),
]


def _inbox_paths() -> dict[str, Schema]:
    return {
        "/api/messages": _get(
            "messages",
            "Stored messages, newest first; `next` is the `before=` of the older page",
            _ok(
                {
                    "messages": {"type": "array", "items": _ref("Message")},
                    "next": {"type": ["integer", "null"]},
                    "more": {"type": "boolean", "description": "With after=: newer messages remain."},
                },
                ("messages", "next"),
            ),
            ("400", *READ_ERRORS),
            parameters=[
                *SCOPE,
                _query("conversation", "A conversation id (room id or user id)."),
                _query("after", "Only messages newer than this message id.", DIGITS),
                _query("before", "Only messages older than this message id.", DIGITS),
                PAGE,
                _query("type", "A callback type code (102000 ...).", "^[0-9]{1,9}$"),
                _query("msgtype", "A msgtype (2 text, 14 image ...).", "^[0-9]{1,9}$"),
                _query("q", "Text the content holds.", max_length=200),
            ],
            tags=["messages"],
        ),
        "/api/messages/{message_id}": _get(
            "message",
            "One stored message",
            _ok({"message": _ref("Message")}, ("message",)),
            ("404", *READ_ERRORS),
            parameters=[
                {"name": "message_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
            ],
            tags=["messages"],
        ),
        "/api/conversations": _get(
            "conversations",
            "The conversations of an account, the most recently active first, with their last message",
            _ok(
                {
                    "conversations": {
                        "type": "array",
                        "items": _object(
                            {
                                "id": {"type": "string"},
                                "isRoom": {"type": "boolean"},
                                "title": {"type": "string"},
                                "lastMessage": _ref("Message"),
                                "count": {"type": "integer"},
                            },
                            ("id", "isRoom", "title", "lastMessage", "count"),
                        ),
                    }
                },
                ("conversations",),
            ),
            ("400", *READ_ERRORS),
            parameters=[*SCOPE, PAGE],
            tags=["messages"],
        ),
        "/api/deliveries": _get(
            "deliveries",
            "Forwarding deliveries, newest first, with the counts per status and each target's last error",
            _ok(
                {
                    "deliveries": {"type": "array", "items": _ref("Delivery")},
                    "counts": COUNTS,
                    "targets": {"type": "array", "items": {"type": "object"}},
                },
                ("deliveries", "counts"),
            ),
            ("400", *READ_ERRORS),
            parameters=[
                _query("status", "pending, delivered or dead.", "^(pending|delivered|dead)$"),
                _query("target", "A target URL as listed.", max_length=255),
                _query("after", "Only deliveries with a larger id.", DIGITS),
                PAGE,
            ],
            tags=["forwarding"],
        ),
        "/api/deliveries/replay": _post(
            "replayDeliveries",
            "Deliver again (same delivery id, a fresh count of attempts)",
            _object(
                {
                    "ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 1000},
                    "status": {"enum": ["pending", "delivered", "dead"]},
                }
            ),
            _ok({"requeued": {"type": "integer"}}, ("requeued",)),
            POST_ERRORS,
            body_required=True,
            tags=("forwarding",),
        ),
        "/api/forward/test": _post(
            "forwardTest",
            "Send a signed test delivery (type 0) to every target now",
            _object({}),
            _json_response(
                _object(
                    {
                        "ok": {"type": "boolean"},
                        "targets": {
                            "type": "array",
                            "items": _object(
                                {
                                    "url": {"type": "string"},
                                    "status": {"type": ["integer", "null"]},
                                    "ms": {"type": "number"},
                                    "error": {"type": "string"},
                                }
                            ),
                        },
                    },
                    ("ok", "targets"),
                )
            ),
            (*POST_ERRORS, "409"),
            tags=("forwarding",),
        ),
    }


def build_spec() -> dict:
    """A fresh copy of the document (callers may change theirs)."""
    return copy.deepcopy(SPEC)


SPEC: dict = {
    "openapi": OPENAPI_VERSION,
    "info": {
        "title": "wxwork_demo local API",
        "version": API_VERSION,
        "description": (
            "The console's JSON API and the upstream's webhook. Bodies are JSON (415 otherwise) of at most "
            "MAX_BODY_BYTES (413). Errors are `{ok: false, message}`. When API_TOKEN or CONSOLE_PASSWORD is "
            "set, send `Authorization: Bearer <API_TOKEN>` (or use the console's session cookie with an "
            "X-CSRF-Token header); with neither set (loopback only) everything is open."
        ),
    },
    "tags": [
        {"name": name}
        for name in ("reads", "login", "business", "monitor", "sessions", "webhook", "messages", "forwarding")
    ],
    "security": [{"bearerAuth": []}],
    "paths": {**_paths(), **_inbox_paths()},
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "API_TOKEN"}},
        "schemas": SCHEMAS,
        "responses": RESPONSES,
    },
}
