"""The login flow endpoints of the old demo's API (`local-api.md`, "Login flow")."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, jsonify

from wxwork_demo.blueprints.body import json_body
from wxwork_demo.errors import BadInput
from wxwork_demo.services.login import flow as login
from wxwork_demo.validation import optional_str, parse_code, parse_id

bp = Blueprint("login", __name__, url_prefix="/api")


def _init_fields(body: dict) -> dict:
    """The init fields, checked: ids numeric, proxySituation 0 or 1, the rest short strings."""
    vid = parse_id(body, "vid", required=False, default=0)
    situation = body.get("proxySituation", 0)
    if isinstance(situation, str) and situation.strip() in ("0", "1"):
        situation = int(situation)
    if situation in ("", None):
        situation = 0
    if isinstance(situation, bool) or situation not in (0, 1):
        raise BadInput("proxySituation", "proxySituation must be 0 or 1")
    return {
        "vid": vid or "",
        "ip": optional_str(body, "ip", max_length=64),
        "port": optional_str(body, "port", max_length=8),
        "proxyType": optional_str(body, "proxyType", max_length=16),
        "userName": optional_str(body, "userName", max_length=128),
        "passward": optional_str(body, "passward", max_length=128),
        "proxySituation": situation,
        "deverType": optional_str(body, "deverType", default="ipad", max_length=32) or "ipad",
    }


def _uuid(body: dict) -> str:
    return optional_str(body, "uuid", max_length=64)


def _callback_url(body: dict) -> str:
    url = optional_str(body, "url", "callbackUrl", max_length=512)
    if url and not url.startswith(("http://", "https://")):
        raise BadInput("url", "url must be an http(s) URL")
    if url:
        try:
            host = urlsplit(url).netloc
        except ValueError:  # e.g. "http://[" (an unclosed IPv6 bracket)
            host = ""
        if not host:
            raise BadInput("url", "url must be an http(s) URL with a host")
    return url


@bp.post("/init")
def init():
    return jsonify(login.init_instance(_init_fields(json_body())))


@bp.post("/set-callback")
def set_callback():
    body = json_body()
    return jsonify(login.register_callback(_uuid(body), _callback_url(body)))


@bp.post("/get-qrcode")
def get_qrcode():
    return jsonify(login.fetch_qrcode(_uuid(json_body())))


@bp.post("/start-login")
def start_login():
    body = json_body()
    return jsonify(login.start_login(_init_fields(body), _callback_url(body)))


@bp.post("/check-code")
def check_code():
    body = json_body()
    code = parse_code(body)
    qrcode_key = optional_str(body, "qrcodeKey", max_length=128)
    return jsonify(login.check_code(_uuid(body), code, qrcode_key))


@bp.post("/automatic-login")
def automatic_login():
    return jsonify(login.automatic_login(_uuid(json_body())))


@bp.post("/refresh-run-client")
def refresh_run_client():
    return jsonify(login.refresh_run_client(_uuid(json_body())))
