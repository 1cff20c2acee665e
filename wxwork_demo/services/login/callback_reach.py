"""Whether the upstream can reach our callback URL, said where people look: status, console, CLI and events.

Without callbacks nothing tells the console that the phone scanned: it shows 等待扫码… for ever (the old demo's
FAQ leads with it). Three signs, each with its cause and its fix:

- `callback_loopback`: the callback URL names this machine (127.0.0.1, localhost) while the upstream is on
  another one, which cannot reach it. Known before anything is sent (start-up, SetCallbackUrl, `/api/state`).
- `callback_silent`: an instance has shown its QR code for CALLBACK_WAIT_S and no callback came since (the scan
  callback moves it on): if the phone has scanned, the callbacks are lost on their way.
- `callback_missed`: the upstream reports an instance logged in, but no callback said so: they are lost.

May call: config, callback_url, events. Reads rows it is given; changes nothing but the events log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from wxwork_demo.config import current_settings, is_loopback
from wxwork_demo.db import db_session
from wxwork_demo.models import Instance, utcnow
from wxwork_demo.services.events import add_event, record_event
from wxwork_demo.services.login.callback_url import shown_callback_url

# How long a QR code may be shown without any callback before the console says callbacks may be lost. A person
# takes some seconds to scan; the upstream sends 100001 within a second of the scan.
CALLBACK_WAIT_S = 60
STAGE = "callback_reach"
# The last step a row takes before the scan callback: no callback has arrived since while it is its last event.
QR_SHOWN = "get-qrcode"
FIX = (
    "set CALLBACK_URL to an address the upstream can reach (this host's public address or domain, "
    "e.g. http://<address>:{port}/callback/wxwork), and let that port through the firewall"
)


@dataclass(frozen=True)
class Hint:
    """A reason to believe callbacks do not arrive: a stable `code` (the console translates it) and a message
    naming the cause and the fix."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def unreachable_from_upstream(callback_url: str, base_url: str) -> bool:
    """Whether `callback_url` names this machine while the upstream at `base_url` is another one."""
    here = _host(callback_url)
    # S104: a comparison with the wildcard address, not a bind to it.
    return (is_loopback(here) or here == "0.0.0.0") and not is_loopback(_host(base_url))  # noqa: S104


def loopback_hint(callback_url: str, base_url: str, port: int) -> Hint | None:
    """`callback_loopback` for these settings, or None (no app needed: `wxwork run` says it at start)."""
    if not unreachable_from_upstream(callback_url, base_url):
        return None
    return Hint(
        "callback_loopback",
        f"the callback URL {shown_callback_url(callback_url)} names this machine, but the upstream at {base_url} "
        f"runs elsewhere and cannot reach it: no scan, login or message will arrive; {FIX.format(port=port)}",
    )


def settings_hint(callback_url: str = "") -> Hint | None:
    """`callback_loopback` for the app's CALLBACK_URL (or `callback_url`, as given to SetCallbackUrl)."""
    settings = current_settings()
    return loopback_hint(callback_url or settings.callback_url, settings.base_url, settings.port)


def instance_hint(row: Instance) -> Hint | None:
    """`callback_loopback`, or `callback_silent` for an instance whose QR code has waited CALLBACK_WAIT_S for
    a callback that did not come; None otherwise (and for every instance not waiting for a scan)."""
    if row.state != "waiting_scan" or (row.last_event or "") != QR_SHOWN:
        return None
    found = settings_hint()
    if found is not None:
        return found
    shown_at = row.state_changed_at
    if shown_at is None or utcnow() - shown_at < timedelta(seconds=CALLBACK_WAIT_S):
        return None
    waited = int((utcnow() - shown_at).total_seconds())
    settings = current_settings()
    return Hint(
        "callback_silent",
        f"no callback from the upstream for {waited} s since the QR code was shown: if the phone has scanned it, "
        f"the upstream at {settings.base_url} cannot reach {shown_callback_url(settings.callback_url)}; "
        f"{FIX.format(port=settings.port)}",
    )


def missed_login_hint(uuid: str) -> Hint:
    """`callback_missed`: the upstream says the instance logged in, no callback said so. Recorded as an event."""
    settings = current_settings()
    hint = Hint(
        "callback_missed",
        f"the upstream reports instance {uuid} logged in, but no callback said so: the upstream at "
        f"{settings.base_url} cannot reach {shown_callback_url(settings.callback_url)}; "
        f"{FIX.format(port=settings.port)}",
    )
    record_event(uuid, STAGE, hint.code, hint.to_dict())
    return hint


def note_loopback(uuid: str, hint: Hint) -> None:
    """Add `callback_loopback` to the unit of work that registered the instance's callback."""
    add_event(db_session(), uuid, STAGE, hint.code, hint.to_dict())
