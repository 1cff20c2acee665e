"""Secondary verification (二次验证): noticed from any call, answered by a person, noticed again when done.

WeCom may demand it within about 30 minutes of a first login (docs: 00-basic, 二次验证注意事项). The
upstream then sends callback 100012 and answers **every** call with errcode -11025, status calls included
(upstream-api-more.md §7). The cure is a SecondaryValidation QR code that a person scans, never a re-init.
The docs promise no callback once the person has confirmed, so while the account waits the monitor asks
GetRunClientByUuid every MONITOR_INTERVAL_MS, at most every RECHECK_S (one cheap, unrecorded call: a person
who just scanned should not wait a whole monitor interval), and brings it back by itself.
"""

from __future__ import annotations

from datetime import timedelta

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session
from wxwork_demo.models import Instance, utcnow
from wxwork_demo.services.instances.registry import find_instance
from wxwork_demo.services.instances.state import NEEDS_PERSON, OFFLINE, ONLINE, set_state
from wxwork_demo.services.monitor import reconnect
from wxwork_demo.services.upstream_calls import SECONDARY_ERRCODE
from wxwork_demo.upstream import UpstreamError, UpstreamRefused, get_client, is_logged_in

SECONDARY_CHECK = "secondary_check"
RECHECK_S = 5.0


def is_secondary_verification(exc: UpstreamError) -> bool:
    """Whether the upstream refused a call because secondary verification is pending."""
    return isinstance(exc, UpstreamRefused) and exc.errcode == SECONDARY_ERRCODE


def note_secondary_verification(uuid: str, exc: UpstreamRefused) -> bool:
    """A call of `uuid` was answered -11025: the account waits for a person (in the unit of work that records
    the failure: services/upstream_calls.py, store_after_upstream). False when it already did (a 100012
    callback or an earlier call got there first)."""
    row = find_instance(uuid) if uuid else None
    if row is None or row.state == NEEDS_PERSON:
        return False
    reason = f"secondary verification required ({exc.action} answered {exc.errcode} {exc.errmsg})"
    row.last_event = "secondary-verification"
    reconnect.request_secondary_validation(row, f"{exc.action} {exc.errcode}", reason[:255])
    return True


def schedule_check(row: Instance) -> None:
    """Look again in one monitor interval whether the person has verified (not committed)."""
    row.next_action = SECONDARY_CHECK
    delay_s = min(current_settings().monitor_interval_ms / 1000, RECHECK_S)
    row.next_action_at = utcnow() + timedelta(seconds=delay_s)


def check_secondary(session_id: int) -> str:
    """One re-check of an account waiting for secondary verification: "pending", "online" or "offline"."""
    session = db_session()
    row = session.get(Instance, session_id)
    if row is None or row.state != NEEDS_PERSON:
        return "skipped"
    try:
        reply = get_client().get_run_client_by_uuid(row.uuid)
    except UpstreamError as exc:
        if is_secondary_verification(exc) or not isinstance(exc, UpstreamRefused):
            schedule_check(row)  # still waiting, or the upstream could not say: ask again later
            session.commit()
            return "pending"
        logged_in = False
    else:
        logged_in = is_logged_in(reply.data)
    if logged_in:
        row.qrcode, row.qrcode_key, row.qrcode_expires_at = "", "", None
        row.last_event = "secondary-verified"
        set_state(row, ONLINE, "secondary-check", "secondary verification passed")
        session.commit()
        return "online"
    # The instance went away meanwhile: nothing is left to verify; the reconnect policy takes over.
    set_state(row, OFFLINE, "secondary-check", "the instance is no longer logged in")
    reconnect.schedule_reconnect(row, "secondary-check", "the instance is no longer logged in")
    session.commit()
    return "offline"
