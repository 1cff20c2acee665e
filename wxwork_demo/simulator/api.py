"""The upstream surface: `POST /wxwork/<Action>` (upstream-api.md §2) and the QR images it links to.

Every answer uses the envelope `{"data", "errcode", "errmsg"}`; business errors come with HTTP 200 and
an unknown action gets HTTP 404, as the real service does. Faults apply here and only here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from .api_more import ERRORCODE_ONLY_ACTIONS, MORE_ACTIONS
from .directory import InvalidCursor
from .errors import UpstreamError
from .faults import REFUSE_ENVIRON_KEY, Fault
from .model import Proxy
from .parsing import FieldError, parse_bool, parse_id, parse_int
from .qr import image_mime_type
from .runtime import Simulator, simulator_of

bp = Blueprint("wxwork_simulator_api", __name__)

# A handler gets the simulator, the JSON body and the base URL, and returns (data, success errmsg).
Handler = Callable[[Simulator, dict[str, Any], str], tuple[Any, str]]

# CheckCode answers with `errorcode` next to `errcode` (§2.4).
_ERRORCODE_ACTIONS = frozenset({"CheckCode"})


def _proxy_from(body: dict[str, Any]) -> Proxy:
    ip = str(body.get("ip") or "")
    situation = body.get("proxySituation")
    return Proxy(
        ip=ip,
        port=str(body.get("port") or ""),
        proxy_type=str(body.get("proxyType") or ""),
        user_name=str(body.get("userName") or ""),
        password=str(body.get("passward") or ""),
        # §2.1: with a proxy and no proxySituation, the proxy is global.
        situation=parse_int(situation, "proxySituation", 1 if ip else 0),
    )


def _init(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    uuid, is_login = sim.upstream.init(parse_id(body.get("vid"), "vid"), _proxy_from(body))
    return {"uuid": uuid, "is_login": "true" if is_login else "false"}, "ok"


def _set_callback_url(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    url = body.get("url") or body.get("callbackUrl") or body.get("callback_url")
    callback_type = str(body.get("callbackType") or "HTTP").upper()
    if callback_type == "HTTP" and not url:
        raise sim.state.errors.error("missing_url")
    sim.upstream.set_callback(body.get("uuid"), str(url) if url else None, callback_type)
    return None, "设置成功"


def _get_qr_code(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    return sim.upstream.get_qrcode(body.get("uuid"), base_url), "获取二维码成功"


def _check_code(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.check_code(body.get("uuid"), body.get("qrcodeKey"), body.get("code"))
    return None, "ok"


def _automatic_login(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.automatic_login(body.get("uuid"))
    return None, "登陆成功"


def _login_out(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.login_out(body.get("uuid"))
    return {"code": 0, "errMsg": "ok", "obj": {}, "pbObj": None}, "退出成功"


def _secondary_validation(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    return sim.upstream.secondary_validation(body.get("uuid"), base_url), "获取二维码成功"


def _get_run_client(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    # The docs list no parameters; a `uuid` some clients send is ignored (A7).
    return sim.upstream.run_clients(base_url), "获取成功"


def _get_run_client_by_uuid(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    return sim.upstream.run_client_by_uuid(body.get("uuid"), base_url), "获取成功"


def _close_connent(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.close(body.get("uuid"))
    return None, "关闭成功"


def _set_proxy(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    sim.upstream.set_proxy(body.get("uuid"), _proxy_from(body))
    return None, "ok"


def _send_text_msg(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    # Check the instance first: an offline instance answers 实例未登录 whatever the body holds.
    sim.upstream.logged_in_account(body.get("uuid"))
    send_userid = parse_id(body.get("send_userid"), "send_userid")
    content = body.get("content")
    if send_userid is None:
        raise sim.state.errors.error("missing_field", field="send_userid")
    if content is None or content == "":
        raise sim.state.errors.error("missing_field", field="content")
    kf_id = parse_id(body.get("kf_id"), "kf_id") or 0
    is_room = parse_bool(body.get("isRoom"))
    echo = sim.upstream.send_text(body.get("uuid"), send_userid, is_room, str(content), kf_id)
    return echo, "ok"


def _get_inner_contacts(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    account = sim.upstream.logged_in_account(body.get("uuid"))
    limit = body.get("limit")
    try:
        page, seq = sim.directory.page_inner(account.corp_id, account.corp_name, body.get("strSeq"), limit)
    except InvalidCursor:
        raise sim.state.errors.error("bad_cursor") from None
    return {"list": page, "seq": seq}, "ok"


def _get_external_contacts(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    account = sim.upstream.logged_in_account(body.get("uuid"))
    # Clients written against the inner list send `strSeq` here too (A8); take it when `seq` is absent.
    raw = body.get("seq") if body.get("seq") is not None else body.get("strSeq")
    seq = max(0, parse_int(raw, "seq", 0))
    page, next_seq = sim.directory.page_external(account.user_id, seq, body.get("limit"))
    return {"list": page, "seq": next_seq}, "ok"


def _get_ban_detile(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    # The spelling is the API's (09-account, 获取当前账号封禁原因).
    return sim.upstream.ban_detail(body.get("uuid"), body.get("url")), "ok"


def _sync_all_data(sim: Simulator, body: dict[str, Any], base_url: str) -> tuple[Any, str]:
    seq = max(0, parse_int(body.get("seq"), "seq", 0))
    limit = parse_int(body.get("limit"), "limit", 1000)
    if limit <= 0:
        raise UpstreamError(-1, "limit 无效")
    return sim.upstream.sync_all_data(body.get("uuid"), seq, min(limit, 1000)), "ok"


ACTIONS: dict[str, Handler] = {
    "init": _init,
    "SetCallbackUrl": _set_callback_url,
    "getQrCode": _get_qr_code,
    "CheckCode": _check_code,
    "automaticLogin": _automatic_login,
    "LoginOut": _login_out,
    "SecondaryValidation": _secondary_validation,
    "GetRunClient": _get_run_client,
    "GetRunClientByUuid": _get_run_client_by_uuid,
    "CloseConnent": _close_connent,
    "setProxy": _set_proxy,
    "SendTextMsg": _send_text_msg,
    "GetInnerContacts": _get_inner_contacts,
    "GetExternalContacts": _get_external_contacts,
    "getBanDetile": _get_ban_detile,
    "SyncAllData": _sync_all_data,
}
ACTIONS.update(MORE_ACTIONS)


def _spring_error(status: int, error: str, path: str) -> dict[str, Any]:
    # The upstream is a Java service; its framework errors look like Spring Boot's default body.
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "error": error,
        "path": path,
    }


def _apply_fault(fault: Fault, release: threading.Event) -> Response | None:
    """Carry out a claimed fault; returns the response to send instead, or None to answer normally."""
    if fault.mode == "latency":
        release.wait(fault.latency_ms / 1000)
        return None
    if fault.mode == "hang":
        # Waiting on the release event (not sleep) lets DELETE /_sim/faults free the request early.
        release.wait(fault.hang_s)
        return None
    if fault.mode == "http500":
        response = jsonify(_spring_error(500, "Internal Server Error", request.path))
        response.status_code = 500
        return response
    if fault.mode == "nonjson":
        html = "<html><head><title>维护中</title></head><body><h1>系统维护中，请稍后再试</h1></body></html>"
        return Response(html, status=200, mimetype="text/html")
    # refuse: RefuseMiddleware sees the marker and drops the connection; this body is never sent.
    request.environ[REFUSE_ENVIRON_KEY] = True
    return Response(b"", status=500)


def _body() -> dict[str, Any]:
    """The call's fields: a JSON object, or for the multipart uploads its form fields and its `file`."""
    if request.mimetype == "multipart/form-data":
        body: dict[str, Any] = dict(request.form.items())
        if "file" in request.files:
            body["file"] = request.files["file"]
        return body
    # force: some clients post JSON without a JSON Content-Type; upstream does not care either.
    parsed = request.get_json(force=True, silent=True)
    return parsed if isinstance(parsed, dict) else {}


@bp.post("/wxwork/<action>")
def upstream_call(action: str) -> Response:
    """Dispatch one upstream action, after applying any active fault."""
    sim = simulator_of()
    body = _body()
    uuid = body.get("uuid") if isinstance(body.get("uuid"), str) else None
    sim.calls.record(action, uuid)
    started = time.monotonic()
    handler = ACTIONS.get(action)
    if handler is None:
        sim.calls.finish(action, uuid, {"status": 404, "errcode": None, "fault": None})
        response = jsonify(_spring_error(404, "Not Found", request.path))
        response.status_code = 404
        return response

    claimed = sim.faults.take(action)
    fault_mode = claimed[0].mode if claimed else None
    if claimed:
        replacement = _apply_fault(*claimed)
        if replacement is not None:
            status = None if fault_mode == "refuse" else replacement.status_code
            outcome = {"status": status, "errcode": None, "fault": fault_mode}
            sim.calls.finish(action, uuid, outcome)
            return replacement

    envelope: dict[str, Any]
    try:
        data, errmsg = handler(sim, body, sim.public_url(request.host_url))
        envelope = {"data": data, "errcode": 0, "errmsg": errmsg}
    except FieldError as exc:
        error = sim.state.errors.error("bad_field", field=exc.field)
        envelope = {"data": None, "errcode": error.errcode, "errmsg": error.errmsg}
    except UpstreamError as exc:
        envelope = {"data": exc.data, "errcode": exc.errcode, "errmsg": exc.errmsg}
    if action in _ERRORCODE_ACTIONS:
        data, errcode, errmsg = envelope["data"], envelope["errcode"], envelope["errmsg"]
        envelope = {"data": data, "errcode": errcode, "errorcode": errcode, "errmsg": errmsg}
    elif action in ERRORCODE_ONLY_ACTIONS:
        data, errcode, errmsg = envelope["data"], envelope["errcode"], envelope["errmsg"]
        envelope = {"data": data, "errmsg": errmsg, "errorcode": errcode}
    sim.calls.finish(
        action,
        uuid,
        {
            "status": 200,
            "errcode": envelope.get("errcode", envelope.get("errorcode")),
            "fault": fault_mode,
            "ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return jsonify(envelope)


@bp.get("/download/<folder>/<day>/<name>")
def media_file(folder: str, day: str, name: str) -> Response:
    """The file behind a download link (DownloadFile, DownloadWeChatFile, bigFileDownUrl, a GIF's url)."""
    served = simulator_of().state.cdn.served(name)
    if served is None:
        abort(404)
    data, content_type = served
    return Response(data, content_type=content_type, headers={"Cache-Control": "no-store"})


@bp.get("/<name>.png")
def qrcode_image(name: str) -> Response:
    """The image behind `qrcode` in getQrCode/SecondaryValidation answers, at the host's root as in the
    docs' sample URL. It is the same image as `qrcode_data` (a JPEG by default, whatever the extension)."""
    image = simulator_of().state.image(name)
    if image is None:
        abort(404)
    return Response(image, mimetype=image_mime_type(image), headers={"Cache-Control": "no-store"})
