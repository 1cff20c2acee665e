"""Ban and restriction notices: recorded on the account, explained by getBanDetile, shown, alerted.

WeCom tells an account about risk control in ordinary callbacks (upstream-api-more.md §6): a system
message (102000 with msgtype 1011), among them "因账号违规，当前功能已被限制使用" with a link
(`extraContent.extraMessageLink.jumpUrl`) that `getBanDetile` turns into a title, a reason, the functions
taken away and the end of the ban; and 102001/102002 when a contact deleted or blocked the account.
The intake records the latest notice on the account; the monitor's tick explains it and sends the alert,
so the callback is answered at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from wxwork_demo.db import db_session
from wxwork_demo.models import Instance, iso_utc, utcnow
from wxwork_demo.services.monitor.alerts import alert_notice
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import UpstreamError

MESSAGE = 102000
SYSTEM_NOTICE = 1011
BOUNCES = {102001: "deleted", 102002: "blocked"}
EXPLAIN_NOTICE = "explain_notice"
# A contact deleting or blocking the account is alerted again only after this long (they come in bursts).
BOUNCE_ALERT_EVERY = timedelta(hours=1)


def notice_of(type_code: int, payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """(kind, text, link) when the callback is a ban or restriction notice, else None."""
    if type_code in BOUNCES:
        return BOUNCES[type_code], str(payload.get("msg") or ""), ""
    if type_code == MESSAGE and _as_int(payload.get("msgtype", payload.get("msgType"))) == SYSTEM_NOTICE:
        link = _jump_url(payload)
        return ("ban" if link else "notice"), str(payload.get("msg") or payload.get("content") or ""), link
    return None


def record_notice(row: Instance, kind: str, text: str, link: str) -> None:
    """Keep the notice on the account and have the monitor explain and alert it (not committed).

    The one action slot of a row may be taken (a reconnect is due): the notice is then kept and shown,
    and goes unalerted.
    """
    repeated_bounce = (
        kind in BOUNCES.values()
        and row.notice_kind == kind
        and row.notice_at is not None
        and utcnow() - row.notice_at < BOUNCE_ALERT_EVERY
    )
    row.notice_kind, row.notice_text, row.notice_at = kind, text[:255], utcnow()
    row.notice_detail = json.dumps({"url": link}, ensure_ascii=False) if link else None
    if not repeated_bounce and not row.next_action:
        row.next_action, row.next_action_at = EXPLAIN_NOTICE, utcnow()


def explain_and_alert(session_id: int) -> None:
    """getBanDetile for a notice with a link (its answer kept on the account), then one alert."""
    session = db_session()
    row = session.get(Instance, session_id)
    if row is None or not row.notice_kind:
        return
    detail = notice_detail(row)
    if detail.get("url") and "title" not in detail:
        try:
            reply = traced("ban_detail", row.uuid, client().ban_detail, row.uuid, detail["url"])
        except UpstreamError as exc:
            detail["error"] = exc.message  # alerted without the explanation rather than not at all
        else:
            detail.update(_explanation(reply.data))
        row.notice_detail = json.dumps(detail, ensure_ascii=False)
        session.commit()
    alert_notice(row.id)


def notice_detail(row: Instance) -> dict[str, Any]:
    try:
        detail = json.loads(row.notice_detail or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def notice_to_dict(row: Instance) -> dict[str, Any] | None:
    """What /api/state shows of the latest notice (the link itself stays out: it carries a key)."""
    if not row.notice_kind:
        return None
    detail = {k: v for k, v in notice_detail(row).items() if k != "url"}
    return {"kind": row.notice_kind, "text": row.notice_text or "", "at": iso_utc(row.notice_at), **detail}


def _explanation(data: Any) -> dict[str, Any]:
    main = data.get("mainData") if isinstance(data, dict) else None
    if not isinstance(main, dict):
        return {}
    return {
        "title": str(main.get("ban_title") or ""),
        "reason": str(main.get("ban_reason") or ""),
        "functions": str(main.get("ban_func") or ""),
        "start": _iso_from_unix(main.get("ban_start_time")),
        "finish": _iso_from_unix(main.get("ban_finish_time")),
    }


def _iso_from_unix(value: Any) -> str:
    seconds = _as_int(value)
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds > 0 else ""


def _jump_url(payload: dict[str, Any]) -> str:
    extra = payload.get("extraContent")
    link = extra.get("extraMessageLink") if isinstance(extra, dict) else None
    url = link.get("jumpUrl") if isinstance(link, dict) else None
    return str(url) if url else ""


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
