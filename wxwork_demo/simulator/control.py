"""The control surface under `/_sim/`: what a test or a demo user does "on the phone" and to the network.

Answers are JSON with `"ok": true`, or `{"ok": false, "message"}` with HTTP 400/404. Faults never
apply here, so a test can always clear what it broke.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from .control_ops import EVENT_TYPES
from .errors import ControlError
from .faults import FAULT_MODES
from .model import DISCONNECT_MESSAGES
from .parsing import FieldError, parse_bool, parse_id, parse_int
from .runtime import simulator_of

bp = Blueprint("wxwork_simulator_control", __name__, url_prefix="/_sim", template_folder="templates")

MAX_BULK_LOGIN = 20_000


def _body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


def _ok(**fields: Any) -> Response:
    return jsonify({"ok": True, **fields})


def _limit_arg() -> int | None:
    value = request.args.get("limit", type=int)
    return value if value and value > 0 else None


@bp.errorhandler(ControlError)
def _control_error(exc: ControlError) -> tuple[Response, int]:
    return jsonify({"ok": False, "message": exc.message}), exc.status


@bp.errorhandler(FieldError)
def _field_error(exc: FieldError) -> tuple[Response, int]:
    return jsonify({"ok": False, "message": str(exc)}), 400


@bp.get("/")
def page() -> Response:
    """The HTML control page (templates/simulator_control.html; no external assets)."""
    html = render_template("simulator_control.html", events=EVENT_TYPES, disconnects=DISCONNECT_MESSAGES)
    return Response(html, mimetype="text/html")


@bp.get("/state")
def state() -> Response:
    """Instances, accounts, the active fault and a few counters (`?limit=` caps the instance list)."""
    sim = simulator_of()
    fault = sim.faults.current()
    snapshot = sim.state.snapshot(_limit_arg())
    return jsonify(
        {
            **snapshot,
            "faults": fault.to_dict() if fault else None,
            "sent_total": sim.sent.list(limit=1)[0],
            "callbacks_pending": sim.dispatcher.pending(),
            "settings": sim.settings.public(),
            "errors": sim.state.errors.as_dict(),
            "events": EVENT_TYPES,
        }
    )


@bp.post("/scan")
def scan() -> Response:
    """The phone scans the pending QR: `{uuid, user_id?}` -> `{ok, needCode, code, user_id}`."""
    body = _body()
    if not body.get("uuid"):
        raise ControlError(400, "uuid is required")
    result = simulator_of().control.scan(body["uuid"], parse_id(body.get("user_id"), "user_id"))
    return _ok(**result)


@bp.post("/drop")
def drop() -> Response:
    """Inject a disconnect: `{uuid, type, require_scan?, after_s?}`, type 100005/100007/100008/100009/100012.

    `after_s` (100012 only) has the upstream demand secondary verification that many seconds later.
    """
    body = _body()
    if not body.get("uuid"):
        raise ControlError(400, "uuid is required")
    type_ = parse_int(body.get("type"), "type", 0)
    after_s = _seconds(body.get("after_s"), "after_s")
    payload = simulator_of().control.drop(body["uuid"], type_, parse_bool(body.get("require_scan")), after_s)
    return _ok(type=type_, payload=payload)


@bp.post("/event")
def event() -> Response:
    """Send another callback: `{uuid, type, ...}` with type one of `GET /_sim/state`'s `events`.

    Options: `user_id` (100003, 100006), `corp_id`/`corp_name` (100006), `contact` (102001, 102002, 102006,
    116001, rooms), `room_id` (115xxx), `title`/`reason`/`functions`/`duration_s` (ban).
    """
    body = _body()
    if not body.get("uuid"):
        raise ControlError(400, "uuid is required")
    options = {
        "user_id": parse_id(body.get("user_id"), "user_id"),
        "corp_id": parse_id(body.get("corp_id"), "corp_id"),
        "corp_name": body.get("corp_name"),
        "contact": parse_id(body.get("contact"), "contact"),
        "room_id": parse_id(body.get("room_id"), "room_id"),
        "title": body.get("title"),
        "reason": body.get("reason"),
        "functions": body.get("functions"),
        "duration_s": parse_int(body.get("duration_s"), "duration_s", 0),
    }
    type_, payload = simulator_of().control.event(body["uuid"], str(body.get("type") or ""), options)
    return _ok(type=type_, payload=payload)


@bp.post("/restart")
def restart() -> Response:
    """The upstream service restarts: `{down_s?}`. Instances are gone, device knowledge is kept, so
    init(vid) + automaticLogin logs known accounts back in; connections are refused for `down_s` seconds."""
    body = _body()
    dropped = simulator_of().restart_upstream(_seconds(body.get("down_s"), "down_s"))
    return _ok(dropped=dropped)


def _seconds(value: Any, name: str) -> float:
    if value is None or value == "":
        return 0.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be a number of seconds") from None
    if not 0 <= seconds <= 86400:
        raise ControlError(400, f"{name} must be between 0 and 86400")
    return seconds


@bp.post("/message")
def message() -> Response:
    """Push an incoming message as callback 102000.

    Body: `{uuid, content, sender?, sender_name?, is_room?, room_conversation_id?, msgtype?}`.
    """
    body = _body()
    if not body.get("uuid"):
        raise ControlError(400, "uuid is required")
    if body.get("content") is None:
        raise ControlError(400, "content is required")
    room_id = body.get("room_conversation_id")
    payload = simulator_of().control.push_message(
        body["uuid"],
        content=str(body["content"]),
        sender=parse_id(body.get("sender"), "sender"),
        is_room=parse_bool(body.get("is_room")),
        room_conversation_id=str(room_id) if room_id else None,
        msgtype=parse_int(body.get("msgtype"), "msgtype", 2),
        sender_name=str(body.get("sender_name") or ""),
    )
    return _ok(type=102000, payload=payload)


@bp.post("/media")
def media() -> Response:
    """Push a received media message as callback 102000: `{uuid, msgtype, sender?, is_room?,
    room_conversation_id?, file_name?, content_base64?}`, msgtype 14 image, 15 file, 16 voice, 20 big file,
    23 video (from colleagues), 101/102/103 image/file/video (from WeChat users) or 104 GIF. The bytes are
    generated (a small real PNG for images) unless `content_base64` gives them."""
    body = _body()
    if not body.get("uuid"):
        raise ControlError(400, "uuid is required")
    data = None
    if body.get("content_base64") is not None:
        try:
            data = base64.b64decode(str(body["content_base64"]), validate=True)
        except ValueError:
            raise ControlError(400, "content_base64 is not base64") from None
    room_id = body.get("room_conversation_id")
    sim = simulator_of()
    payload = sim.control.push_media(
        body["uuid"],
        parse_int(body.get("msgtype"), "msgtype", 14),
        sender=parse_id(body.get("sender"), "sender"),
        is_room=parse_bool(body.get("is_room")),
        room_conversation_id=str(room_id) if room_id else None,
        file_name=str(body["file_name"]) if body.get("file_name") is not None else None,
        data=data,
        public_url=sim.public_url(request.host_url),
    )
    return _ok(type=102000, payload=payload)


@bp.post("/callbacks/drop")
def drop_callbacks() -> Response:
    """Lose message callbacks for a while: `{"seconds": 5}` (0 ends it), optional `"types": [102000, ...]`."""
    body = _body()
    try:
        seconds = float(body.get("seconds", 0))
    except (TypeError, ValueError):
        raise ControlError(400, "seconds must be a number") from None
    types = body.get("types") or [102000]
    if not isinstance(types, list) or not all(isinstance(t, int) for t in types):
        raise ControlError(400, "types must be a list of callback type codes")
    dispatcher = simulator_of().dispatcher
    dispatcher.drop_for(seconds, frozenset(types))
    return _ok(dropping=dispatcher.dropping())


@bp.get("/faults")
def faults_get() -> Response:
    """The active fault, or null."""
    fault = simulator_of().faults.current()
    return _ok(fault=fault.to_dict() if fault else None)


@bp.post("/faults")
def faults_set() -> Response:
    """Install a fault: `{mode, count, latency_ms?, hang_s?, actions?}` (replaces any active one)."""
    try:
        fault = simulator_of().faults.configure(_body())
    except (TypeError, ValueError) as exc:
        raise ControlError(400, f"{exc} (modes: {', '.join(FAULT_MODES)})") from None
    return _ok(fault=fault.to_dict())


@bp.delete("/faults")
def faults_clear() -> Response:
    """Clear the fault and release requests hanging on it."""
    simulator_of().faults.clear()
    return _ok(fault=None)


@bp.get("/sent")
def sent_get() -> Response:
    """Messages SendTextMsg received (`?uuid=`, `?limit=` to filter)."""
    total, messages = simulator_of().sent.list(request.args.get("uuid"), _limit_arg())
    return _ok(total=total, messages=messages)


@bp.delete("/sent")
def sent_clear() -> Response:
    """Forget sent messages."""
    simulator_of().sent.clear()
    return _ok()


@bp.get("/calls")
def calls_get() -> Response:
    """Upstream call counts per action and per uuid, and the latest calls (`?uuid=` to filter)."""
    return _ok(**simulator_of().calls.snapshot(request.args.get("uuid")))


@bp.delete("/calls")
def calls_reset() -> Response:
    """Zero the call counters."""
    simulator_of().calls.reset()
    return _ok()


@bp.get("/callbacks")
def callbacks_get() -> Response:
    """Callback delivery attempts, oldest first (`?uuid=`, `?limit=` to filter)."""
    sim = simulator_of()
    attempts = sim.dispatcher.attempts(request.args.get("uuid"), _limit_arg())
    return _ok(pending=sim.dispatcher.pending(), attempts=attempts)


@bp.delete("/callbacks")
def callbacks_clear() -> Response:
    """Forget the delivery log."""
    simulator_of().dispatcher.clear()
    return _ok()


@bp.post("/bulk-login")
def bulk_login() -> Response:
    """Create logged-in instances for benchmarks.

    Body `{count, callback_url?}` -> `{ok, instances: [{uuid, vid}]}`; no callbacks are sent for them.
    """
    body = _body()
    count = parse_int(body.get("count"), "count", 0)
    if not 1 <= count <= MAX_BULK_LOGIN:
        raise ControlError(400, f"count must be between 1 and {MAX_BULK_LOGIN}")
    callback_url = body.get("callback_url")
    instances = simulator_of().control.bulk_login(count, str(callback_url) if callback_url else None)
    return _ok(instances=instances)


@bp.post("/accounts")
def accounts_flag() -> Response:
    """Flag an account: `{user_id, needs_scan}`; while set, automaticLogin fails for it."""
    body = _body()
    user_id = parse_id(body.get("user_id"), "user_id")
    if user_id is None:
        raise ControlError(400, "user_id is required")
    account = simulator_of().control.set_account_flags(user_id, parse_bool(body.get("needs_scan", True)))
    return _ok(account=account)


@bp.post("/reset")
def reset() -> Response:
    """Back to empty: instances, accounts, faults, logs and queued callbacks."""
    simulator_of().reset()
    return _ok()
