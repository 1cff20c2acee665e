"""The login flow: init, callback registration, QR code, verification code, automatic login, refresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from wxwork_demo.contract import login as contract
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.models import Instance, utcnow
from wxwork_demo.services.events import record_event
from wxwork_demo.services.instances.proxy_vault import proxy_fields, seal
from wxwork_demo.services.instances.registry import find_instance, require_instance, save_instance
from wxwork_demo.services.instances.state import INITIALISED, ONLINE, WAITING_SCAN, set_state
from wxwork_demo.services.login.callback_reach import QR_SHOWN, missed_login_hint, note_loopback, settings_hint
from wxwork_demo.services.login.callback_url import registered_callback_url, shown_callback_url
from wxwork_demo.services.monitor.reconnect import schedule_reconnect
from wxwork_demo.services.upstream_calls import client, store_after_upstream, traced, traced_together
from wxwork_demo.terminal_qr import image_bytes
from wxwork_demo.upstream import (
    Reply,
    UpstreamError,
    UpstreamRefused,
    init_request,
    is_logged_in,
    parse_is_login,
    parse_qrcode,
)


def init_instance(fields: dict[str, Any]) -> contract.Init:
    """Create an upstream instance (with `vid` to reuse a device) and store it as an instance row, with the
    proxy it was created through (sealed) for the monitor's reconnects."""
    body = init_request(fields)
    online_already = _online_instance_of(str(body["vid"] or ""))
    reply = traced("init", "", client().init, body)
    data = reply.data if isinstance(reply.data, dict) else {}
    uuid = str(data.get("uuid") or "")
    if not uuid:
        record_event("", "init_no_uuid", "init", reply.envelope)  # the old demo's stage for this failure
        message = f"upstream init returned no uuid (POST {client().base_url}/wxwork/init)"
        raise AppError(400, message, code="upstream_no_uuid", stage="init", raw=reply.envelope)
    is_login = parse_is_login(data.get("is_login", False))
    sealed = seal(proxy_fields(body))

    def store() -> None:
        row = find_instance(uuid) or Instance(uuid=uuid)
        row.vid, row.qrcode, row.qrcode_key = str(body["vid"] or ""), "", ""
        row.last_event, row.last_error, row.proxy_sealed = "init", "", sealed
        db_session().add(row)
        set_state(row, ONLINE if is_login else INITIALISED, "init")

    result = contract.Init(uuid=uuid, is_login=is_login, init=reply.envelope)
    if online_already is not None and online_already.uuid != uuid:
        warning = (
            f"account {body['vid']} was online already (instance {online_already.uuid}): logging it in on a new "
            "instance moves it there"
        )
        result = result.model_copy(update={"warning": warning})
    if not store_after_upstream("init", uuid, store):
        # The instance exists upstream: say so (its uuid is in the answer), never a failure that invites a retry.
        warning = "the upstream created the instance but the database did not store it (see the log)"
        result = result.model_copy(update={"stored": False, "warning": warning})
    return result


def register_callback(uuid: str, url: str = "") -> contract.CallbackSet:
    """Tell the upstream where to POST this instance's events (CALLBACK_URL + token unless `url` is given)."""
    instance = require_instance(uuid)
    reply = traced(
        "set_callback", instance.uuid, client().set_callback_url, instance.uuid, registered_callback_url(url)
    )
    save_instance(instance.uuid, last_event="set-callback", callback_registered_at=utcnow())
    shown = shown_callback_url(reply.request["url"])
    hint = settings_hint(reply.request["url"])
    if hint is not None:
        note_loopback(instance.uuid, hint)
    db_session().commit()
    return contract.CallbackSet(
        uuid=instance.uuid, callback_url=shown, callback=reply.envelope, warning=hint.message if hint else None
    )


def fetch_qrcode(uuid: str) -> contract.QrCode:
    """Get a login QR code for the instance and keep its image and key on the instance row."""
    instance = require_instance(uuid)
    reply = traced("get_qrcode", instance.uuid, client().get_qrcode, instance.uuid)
    qr = parse_qrcode(reply.data)
    expires_at = utcnow() + timedelta(seconds=qr.ttl) if qr.ttl > 0 else None
    row = save_instance(
        instance.uuid, qrcode=qr.image, qrcode_key=qr.key, qrcode_expires_at=expires_at, last_event="get-qrcode"
    )
    set_state(row, WAITING_SCAN, "get-qrcode", "scan the QR code with WeChat Work on the phone")
    db_session().commit()
    return contract.QrCode(
        uuid=instance.uuid, qrcode=qr.image, qrcode_key=qr.key, ttl=qr.ttl, get_qr_code=reply.envelope
    )


def start_login(fields: dict[str, Any], callback_url: str = "") -> contract.LoginStarted:
    """init → SetCallbackUrl → getQrCode in one call."""
    started = init_instance(fields)
    if started.stored is False:  # nothing to go on with: the instance is known only to the upstream
        return contract.LoginStarted(
            uuid=started.uuid,
            is_login=started.is_login,
            qrcode="",
            qrcode_key="",
            ttl=0,
            stored=False,
            warning=started.warning,
        )
    register_callback(started.uuid, callback_url)
    qr = fetch_qrcode(started.uuid)
    return contract.LoginStarted(
        uuid=started.uuid, is_login=started.is_login, qrcode=qr.qrcode, qrcode_key=qr.qrcode_key, ttl=qr.ttl
    )


def check_code(uuid: str, code: str, qrcode_key: str = "") -> contract.Raw:
    """Submit the 6-digit code the phone shows; a refusal is the user's input, so it is a 400."""
    instance = require_instance(uuid)
    key = qrcode_key or instance.qrcode_key or ""
    if not key:
        raise AppError(400, "qrcodeKey is required: fetch a QR code first", code="no_qrcode_key", field="qrcodeKey")
    try:
        reply = traced("check_code", instance.uuid, client().check_code, instance.uuid, key, code)
    except UpstreamRefused as exc:
        _note(instance.uuid, "check_code", last_error=exc.errmsg or exc.message)
        message = f"verification code refused: {exc.errmsg or exc.errcode}"
        raise AppError(400, message, code="code_refused", raw=exc.raw) from None
    # No last_event here: the callbacks that follow (100002, 104001) may already have set a newer one.
    _note(instance.uuid, "check_code", last_error="")
    return contract.Raw(raw=reply.envelope)


def automatic_login(uuid: str) -> contract.Raw:
    """Log in again without a scan (works when init carried the vid of an account seen before). Says so when
    the instance was online already (the call is made all the same: the person asked for it)."""
    instance = require_instance(uuid)
    warning = "this instance was online already: automatic login was not needed" if instance.state == ONLINE else None
    try:
        reply = traced("automatic_login", instance.uuid, client().automatic_login, instance.uuid)
    except UpstreamError as exc:
        _note(instance.uuid, "automatic_login", last_event="automatic-login-failed", last_error=exc.message)
        raise

    def store() -> None:
        row = find_instance(instance.uuid)
        if row is not None and row.state != ONLINE:  # else callback 104001 got here first and said it all
            row.last_event = "automatic-login"
            set_state(row, ONLINE, "automatic-login")

    store_after_upstream("automatic_login", instance.uuid, store)
    return contract.Raw(raw=reply.envelope, warning=warning)


def _note(uuid: str, what: str, **fields: str) -> None:
    """Store what an upstream call's outcome says about the instance; a database failure here is logged and
    never replaces that outcome (services/upstream_calls.py: store_after_upstream)."""
    store_after_upstream(what, uuid, lambda: save_instance(uuid, **fields))


def refresh_run_client(uuid: str) -> contract.RunClient:
    """Ask GetRunClient and GetRunClientByUuid together and store the login state they report.

    A refusal of GetRunClientByUuid (e.g. errcode 500 "实例不存在") is an answer: the instance is not
    logged in. Only an upstream that could not answer at all makes this call fail.
    """
    instance = require_instance(uuid)
    api = client()
    run_client, by_uuid = traced_together(
        "refresh_status",
        instance.uuid,
        [(api.get_run_client, (instance.uuid,)), (api.get_run_client_by_uuid, (instance.uuid,))],
        failed_stage="get_run_client_error",
    )
    for outcome in (run_client, by_uuid):
        if isinstance(outcome, UpstreamError) and not isinstance(outcome, UpstreamRefused):
            raise outcome
    logged_in = isinstance(by_uuid, Reply) and is_logged_in(by_uuid.data)
    error = "" if logged_in else _offline_reason(by_uuid)
    current = find_instance(instance.uuid)
    # Logged in upstream while the row still waits at its QR code: the callbacks of the scan and the login
    # never arrived.
    missed = logged_in and current is not None and current.state == WAITING_SCAN and current.last_event == QR_SHOWN
    warning = missed_login_hint(instance.uuid).message if missed else None
    row = save_instance(instance.uuid, last_event="refresh-run-client")
    if logged_in:
        set_state(row, ONLINE, "refresh-run-client")
    elif row.state == ONLINE or row.is_login:
        schedule_reconnect(row, "refresh-run-client", error)
    else:
        row.last_error = error
    db_session().commit()
    return contract.RunClient(
        request=contract.UuidOnly(uuid=instance.uuid),
        is_login=logged_in,
        get_run_client=_envelope(run_client),
        get_run_client_by_uuid=_envelope(by_uuid),
        warning=warning,
    )


def _online_instance_of(vid: str) -> Instance | None:
    if not vid:
        return None
    query = select(Instance).where(Instance.vid == vid, Instance.state == ONLINE).limit(1)
    return db_session().scalars(query).first()


def logged_in_upstream(uuid: str) -> bool:
    """Whether the upstream reports the instance logged in (GetRunClientByUuid); records nothing."""
    return is_logged_in(client().get_run_client_by_uuid(uuid).data)


def qrcode_image(qrcode: str) -> bytes | None:
    """The QR code's image: decoded from its data: URL, or downloaded from the upstream's image URL
    (None when it cannot be had: the caller shows the URL instead)."""
    data = image_bytes(qrcode)
    if data is None and qrcode.startswith(("http://", "https://")):
        try:
            data = client().download(qrcode)
        except UpstreamError:
            return None
    return data


def _envelope(outcome: Reply | UpstreamError) -> dict[str, Any]:
    return outcome.envelope if isinstance(outcome, Reply) else (outcome.raw or outcome.to_dict())


def _offline_reason(outcome: Reply | UpstreamError) -> str:
    if isinstance(outcome, UpstreamRefused):
        return outcome.errmsg or f"errcode {outcome.errcode}"
    return "not logged in"
