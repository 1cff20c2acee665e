"""The login state of a session, and the one function that changes it.

    initialised ─getQrCode→ waiting_scan ─100004→ waiting_code ─104001→ online
    online ─disconnect / failed check→ offline ─(monitor)→ reconnecting → online
    reconnecting ─refused N times→ needs_person (QR to scan) ;  100012 → needs_person (secondary verification)

Every change of state is recorded as an event (stage "state", type "old->new") with its cause, and logged
in one line; a new reason in the same state only updates the row (no "offline->offline" event). `is_login` is
kept in step for the old demo's clients.
"""

from __future__ import annotations

import logging
from typing import Any

from wxwork_demo.db import db_session
from wxwork_demo.models import Instance, utcnow
from wxwork_demo.services.events import add_event

INITIALISED = "initialised"
WAITING_SCAN = "waiting_scan"
WAITING_CODE = "waiting_code"
ONLINE = "online"
RECONNECTING = "reconnecting"
OFFLINE = "offline"
NEEDS_PERSON = "needs_person"
STATES = (INITIALISED, WAITING_SCAN, WAITING_CODE, ONLINE, RECONNECTING, OFFLINE, NEEDS_PERSON)
# A person is in the middle of something: the monitor must not start a new login under them.
PERSON_BUSY = (WAITING_SCAN, WAITING_CODE, NEEDS_PERSON)
log = logging.getLogger(__name__)


def set_state(
    row: Instance, state: str, cause: str, reason: str = "", *, restart: bool = False, **details: Any
) -> bool:
    """Move `row` to `state` (not committed). Returns False when nothing changed.

    A new reason in the same state updates the row without an event, unless it is a `restart` (the monitor
    starting an account's way back over, which the events must show)."""
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}")
    old = row.state or INITIALISED
    reason = reason[:255]
    if old == state and (row.state_reason or "") == reason:
        return False
    row.state = state
    row.state_reason = reason
    row.state_changed_at = utcnow()
    row.is_login = state == ONLINE
    row.silent_since = None  # a new state starts a new quiet period
    if state == ONLINE:
        row.reconnect_attempts = 0
        row.next_action = ""
        row.next_action_at = None
        row.alerted_at = None
        row.last_error = ""
    elif reason:
        row.last_error = reason
    if old == state and not restart:  # a new reason in the same state: on the row, no "offline->offline" event
        return True
    payload = {"from": old, "to": state, "cause": cause, "reason": reason, **details}
    add_event(db_session(), row.uuid, "state", f"{old}->{state}", payload)
    # An operator's line per change of an account's lifecycle (logged in, dropped, reconnecting, needs a person).
    lifecycle = {"event": "account_state", "uuid": row.uuid, "vid": row.vid or "", "from": old, "to": state}
    log.info(
        "account %s (uuid %s): %s -> %s (%s)%s",
        row.vid or "-",
        row.uuid,
        old,
        state,
        cause,
        f": {reason}" if reason else "",
        extra={**lifecycle, "cause": cause, "reason": reason},
    )
    return True


# `last_event` of an account that callback 100012 handed to a person for secondary verification.
SECONDARY_VERIFICATION_EVENT = "disconnect:100012"


def awaits_secondary_validation(row: Instance) -> bool:
    """Whether a person is needed to scan a SecondaryValidation QR for this account (callback 100012)."""
    return row.state == NEEDS_PERSON and row.last_event == SECONDARY_VERIFICATION_EVENT
