"""The login flow endpoints of the old demo's API (`local-api.md`, "Login flow")."""

from __future__ import annotations

from flask import Blueprint

from wxwork_demo.blueprints.edge import UPSTREAM, WRITES, endpoint
from wxwork_demo.contract import login as contract
from wxwork_demo.services.login import flow as login

bp = Blueprint("login", __name__, url_prefix="/api")


@bp.post("/init")
@endpoint(body=contract.InitBody, reply=contract.Init, errors=(*WRITES, "502", "504"))
def init(body: contract.InitBody) -> contract.Init:
    """Create an upstream instance (init) and store it"""
    return login.init_instance(body.upstream_fields())


@bp.post("/set-callback")
@endpoint(body=contract.SetCallbackBody, reply=contract.CallbackSet, errors=UPSTREAM)
def set_callback(body: contract.SetCallbackBody) -> contract.CallbackSet:
    """Register the callback URL with the upstream (SetCallbackUrl)"""
    return login.register_callback(body.uuid, body.url)


@bp.post("/get-qrcode")
@endpoint(body=contract.UuidBody, reply=contract.QrCode, errors=UPSTREAM)
def get_qrcode(body: contract.UuidBody) -> contract.QrCode:
    """Get a login QR code (getQrCode)"""
    return login.fetch_qrcode(body.uuid)


@bp.post("/start-login")
@endpoint(body=contract.StartLoginBody, reply=contract.LoginStarted, errors=UPSTREAM)
def start_login(body: contract.StartLoginBody) -> contract.LoginStarted:
    """init, SetCallbackUrl and getQrCode in one call"""
    return login.start_login(body.upstream_fields(), body.url)


@bp.post("/check-code")
@endpoint(body=contract.CheckCodeBody, reply=contract.Raw, errors=UPSTREAM, body_required=False)
def check_code(body: contract.CheckCodeBody) -> contract.Raw:
    """Submit the 6-digit code the phone shows (CheckCode); a refused code is a 400"""
    return login.check_code(body.uuid, body.code, body.qrcode_key)


@bp.post("/automatic-login")
@endpoint(body=contract.UuidBody, reply=contract.Raw, errors=UPSTREAM)
def automatic_login(body: contract.UuidBody) -> contract.Raw:
    """Log in again without a scan (automaticLogin)"""
    return login.automatic_login(body.uuid)


@bp.post("/refresh-run-client")
@endpoint(body=contract.UuidBody, reply=contract.RunClient, errors=UPSTREAM)
def refresh_run_client(body: contract.UuidBody) -> contract.RunClient:
    """GetRunClient and GetRunClientByUuid together; stores the login state they report"""
    return login.refresh_run_client(body.uuid)
