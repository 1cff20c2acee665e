"""What several endpoints share: the error body, an upstream answer, an instance, the monitor, an event."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from wxwork_demo.contract.base import Part, optional

# The upstream's JSON envelope as received ({data, errcode, errmsg, …}), passed on untouched.
UpstreamReply = Annotated[
    Any, WithJsonSchema({"type": "object", "description": "The upstream's JSON envelope as received."})
]


class Reply(Part):
    """A successful answer: `ok: true` and the endpoint's fields."""

    ok: Literal[True] = True


class Error(Part):
    """Every failure: `ok: false` and a message for people, with what is known about the cause."""

    ok: Annotated[Literal[False], WithJsonSchema({"const": False})]
    message: str = Field(description="What went wrong, for people (English).")
    code: str = Field(
        description="What went wrong, for programs: stable, snake_case (bad_input, unknown_instance, code_refused, "
        "upstream_unreachable, upstream_refused, upstream_timeout, database_unavailable, not_ready, …); the console "
        "translates it."
    )
    field: str | None = optional("The request field at fault (400, and 404 for uuid).")
    stage: str | None = optional("The upstream action that failed.")
    upstream: dict[str, Any] | None = optional("How the upstream call failed (kind, action, …).")
    raw: Any = optional("The upstream's answer, when there was one.")
    detail: str | None = optional()


NOTICE = (
    "The latest ban or restriction notice (kind ban/notice/deleted/blocked, text, at; title, reason, functions, "
    "start, finish when getBanDetile explained it)."
)


class Account(Part):
    name: str = ""
    corp: str = ""
    avatar: str = ""


class CallbackHint(Part):
    """A reason to believe the upstream's callbacks do not reach this app (services/login/callback_reach.py)."""

    code: str = Field(description="callback_loopback, callback_silent or callback_missed.")
    message: str = Field(description="The cause and the fix, for people.")


class InstanceInfo(Part):
    """An upstream instance of an account as the API shows it (the old demo's `Session`); empty strings and
    false when there is none."""

    uuid: str = ""
    vid: str = ""
    is_login: bool = False
    qrcode: str = Field("", description="QR image URL or data: URL.")
    qrcode_key: str = ""
    last_event: str = ""
    last_error: str = ""
    updated_at: str = Field("", description="ISO-8601 UTC, empty when there is no instance.")
    state: str = ""
    state_reason: str = ""
    account: Account = Account()
    qrcode_expires_at: str = ""
    reconnect_attempts: int = 0
    next_action_at: str = ""
    notice: Annotated[Any, WithJsonSchema({"type": ["object", "null"], "description": NOTICE})] = None
    silent_since: str = Field("", description="Online, but no callback since then (SILENCE_ALERT_S); empty otherwise.")
    callback_hint: CallbackHint | None = optional("Waiting for a scan, and callbacks may not reach this app.")


class MonitorStatus(Part):
    enabled: bool
    running: bool
    last_check_at: str
    last_reconnect_at: str
    reconnecting: bool
    interval_ms: int
    owner: str = ""
    scheduler_here: bool = False


class EventInfo(Part):
    id: int
    session_uuid: str
    stage: str
    event_type: str
    payload: Annotated[Any, WithJsonSchema({"type": "object"})]
    created_at: str
