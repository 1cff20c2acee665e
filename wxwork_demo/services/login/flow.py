"""The login flow: init, callback registration, QR code, verification code, automatic login, refresh."""

from __future__ import annotations

from datetime import timedelta

from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.models import Instance, utcnow
from wxwork_demo.services.events import record_event
from wxwork_demo.services.instances.proxy_vault import proxy_fields, seal
from wxwork_demo.services.instances.registry import find_instance, require_instance, save_instance
from wxwork_demo.services.instances.state import INITIALISED, ONLINE, WAITING_SCAN, set_state
from wxwork_demo.services.login.callback_url import registered_callback_url, shown_callback_url
from wxwork_demo.services.monitor.reconnect import schedule_reconnect
from wxwork_demo.services.upstream_calls import client, store_after_upstream, traced, traced_together
from wxwork_demo.upstream import (
    Reply,
    UpstreamError,
    UpstreamRefused,
    init_request,
    is_logged_in,
    parse_is_login,
    parse_qrcode,
)


def init_instance(fields: dict) -> dict:
    """Create an upstream instance (with `vid` to reuse a device) and store it as a session, with the
    proxy it was created through (sealed) for the monitor's reconnects."""
    body = init_request(fields)
    reply = traced("init", "", client().init, body)
    data = reply.data if isinstance(reply.data, dict) else {}
    uuid = str(data.get("uuid") or "")
    if not uuid:
        record_event("", "init_no_uuid", "init", reply.envelope)  # the old demo's stage for this failure
        raise AppError(400, "upstream init returned no uuid", stage="init", raw=reply.envelope)
    is_login = parse_is_login(data.get("is_login", False))
    sealed = seal(proxy_fields(body))

    def store() -> None:
        row = find_instance(uuid) or Instance(uuid=uuid)
        row.vid, row.qrcode, row.qrcode_key = str(body["vid"] or ""), "", ""
        row.last_event, row.last_error, row.proxy_sealed = "init", "", sealed
        db_session().add(row)
        set_state(row, ONLINE if is_login else INITIALISED, "init")
        db_session().commit()

    result = {"ok": True, "uuid": uuid, "isLogin": is_login, "init": reply.envelope}
    if not store_after_upstream("init", uuid, store):
        # The instance exists upstream: say so (its uuid is in the answer), never a failure that invites a retry.
        result["stored"] = False
        result["warning"] = "the upstream created the instance but the database did not store it (see the log)"
    return result


def register_callback(uuid: str, url: str = "") -> dict:
    """Tell the upstream where to POST this instance's events (CALLBACK_URL + token unless `url` is given)."""
    session = require_instance(uuid)
    reply = traced("set_callback", session.uuid, client().set_callback_url, session.uuid, registered_callback_url(url))
    save_instance(session.uuid, last_event="set-callback", callback_registered_at=utcnow())
    shown = shown_callback_url(reply.request["url"])
    return {"ok": True, "uuid": session.uuid, "callbackUrl": shown, "callback": reply.envelope}


def fetch_qrcode(uuid: str) -> dict:
    """Get a login QR code for the instance and keep its image and key on the session."""
    session = require_instance(uuid)
    reply = traced("get_qrcode", session.uuid, client().get_qrcode, session.uuid)
    qr = parse_qrcode(reply.data)
    expires_at = utcnow() + timedelta(seconds=qr.ttl) if qr.ttl > 0 else None
    row = save_instance(
        session.uuid, qrcode=qr.image, qrcode_key=qr.key, qrcode_expires_at=expires_at, last_event="get-qrcode"
    )
    set_state(row, WAITING_SCAN, "get-qrcode", "scan the QR code with WeChat Work on the phone")
    db_session().commit()
    return {
        "ok": True,
        "uuid": session.uuid,
        "qrcode": qr.image,
        "qrcodeKey": qr.key,
        "ttl": qr.ttl,
        "getQrCode": reply.envelope,
    }


def start_login(fields: dict, callback_url: str = "") -> dict:
    """init → SetCallbackUrl → getQrCode in one call."""
    started = init_instance(fields)
    if started.get("stored") is False:  # nothing to go on with: the instance is known only to the upstream
        return {**started, "qrcode": "", "qrcodeKey": "", "ttl": 0}
    register_callback(started["uuid"], callback_url)
    qr = fetch_qrcode(started["uuid"])
    return {
        "ok": True,
        "uuid": started["uuid"],
        "isLogin": started["isLogin"],
        "qrcode": qr["qrcode"],
        "qrcodeKey": qr["qrcodeKey"],
        "ttl": qr["ttl"],
    }


def check_code(uuid: str, code: str, qrcode_key: str = "") -> dict:
    """Submit the 6-digit code the phone shows; a refusal is the user's input, so it is a 400."""
    session = require_instance(uuid)
    key = qrcode_key or session.qrcode_key or ""
    if not key:
        raise AppError(400, "qrcodeKey is required: fetch a QR code first", field="qrcodeKey")
    try:
        reply = traced("check_code", session.uuid, client().check_code, session.uuid, key, code)
    except UpstreamRefused as exc:
        save_instance(session.uuid, last_error=exc.errmsg or exc.message)
        raise AppError(400, f"verification code refused: {exc.errmsg or exc.errcode}", raw=exc.raw) from None
    # No last_event here: the callbacks that follow (100002, 104001) may already have set a newer one.
    save_instance(session.uuid, last_error="")
    return {"ok": True, "raw": reply.envelope}


def automatic_login(uuid: str) -> dict:
    """Log in again without a scan (works when init carried the vid of an account seen before)."""
    session = require_instance(uuid)
    try:
        reply = traced("automatic_login", session.uuid, client().automatic_login, session.uuid)
    except UpstreamError as exc:
        save_instance(session.uuid, last_event="automatic-login-failed", last_error=exc.message)
        raise
    row = find_instance(session.uuid)
    if row is not None and row.state != ONLINE:  # else callback 104001 got here first and said it all
        row.last_event = "automatic-login"
        set_state(row, ONLINE, "automatic-login")
        db_session().commit()
    return {"ok": True, "raw": reply.envelope}


def refresh_run_client(uuid: str) -> dict:
    """Ask GetRunClient and GetRunClientByUuid together and store the login state they report.

    A refusal of GetRunClientByUuid (e.g. errcode 500 "实例不存在") is an answer: the instance is not
    logged in. Only an upstream that could not answer at all makes this call fail.
    """
    session = require_instance(uuid)
    api = client()
    run_client, by_uuid = traced_together(
        "refresh_status",
        session.uuid,
        [(api.get_run_client, (session.uuid,)), (api.get_run_client_by_uuid, (session.uuid,))],
        failed_stage="get_run_client_error",
    )
    for outcome in (run_client, by_uuid):
        if isinstance(outcome, UpstreamError) and not isinstance(outcome, UpstreamRefused):
            raise outcome
    logged_in = isinstance(by_uuid, Reply) and is_logged_in(by_uuid.data)
    error = "" if logged_in else _offline_reason(by_uuid)
    row = save_instance(session.uuid, last_event="refresh-run-client")
    if logged_in:
        set_state(row, ONLINE, "refresh-run-client")
    elif row.state == ONLINE or row.is_login:
        schedule_reconnect(row, "refresh-run-client", error)
    else:
        row.last_error = error
    db_session().commit()
    return {
        "ok": True,
        "request": {"uuid": session.uuid},
        "isLogin": logged_in,
        "getRunClient": _envelope(run_client),
        "getRunClientByUuid": _envelope(by_uuid),
    }


def _envelope(outcome: Reply | UpstreamError) -> dict:
    return outcome.envelope if isinstance(outcome, Reply) else (outcome.raw or outcome.to_dict())


def _offline_reason(outcome: Reply | UpstreamError) -> str:
    if isinstance(outcome, UpstreamRefused):
        return outcome.errmsg or f"errcode {outcome.errcode}"
    return "not logged in"
