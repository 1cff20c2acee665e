"""Reads: health, upstream reachability, the current state, the events log."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part, optional
from wxwork_demo.contract.common import CallbackHint, EventInfo, InstanceInfo, MonitorStatus, Reply


class Health(Reply):
    now: str
    base_url: str
    callback_url: str = Field(
        description="CALLBACK_URL; empty for callers without credentials when access control is on (it may carry "
        "the callback token)."
    )


class ReadyCheck(Part):
    ok: bool
    message: str | None = optional(
        "What was found (left out for callers without credentials when access control is on)."
    )


class Ready(Part):
    """Ready to serve (200), or not (503, with `ok: false` and the error body's `message` and `code`)."""

    ok: bool
    ready: bool
    checks: dict[str, ReadyCheck] = Field(description="database, migration and upstream, each with `ok`.")
    message: str | None = optional("What is missing, when not ready.")
    code: str | None = optional("not_ready, when not ready.")


class UpstreamCheck(Part):
    """`ok` says whether the upstream answered; `raw` is its answer (absent or null when there was none)."""

    ok: bool
    status: int | None
    base_url: str
    raw: Annotated[Any, WithJsonSchema({"description": "The upstream's answer (null when there was none)."})] = None
    message: str | None = optional()


class State(Part):
    active: InstanceInfo
    sessions: list[InstanceInfo]
    monitor: MonitorStatus
    events_count: int
    base_url: str
    callback_url: str
    callback_problem: CallbackHint | None = optional("CALLBACK_URL cannot be reached by the upstream (and why).")
    simulator_url: str | None = optional("The bundled simulator's page, when it is the upstream (scan there).")


class EventsQuery(Body):
    session: Annotated[str, fields.query_text("An instance uuid.")]
    stage: Annotated[str, fields.query_text("e.g. callback.")]
    type: Annotated[str, fields.query_text("e.g. 104001.")]
    after: Annotated[int, fields.row_id("Only events newer than this id.")]


class Events(Part):
    events: list[EventInfo]


class Document(Part):
    openapi: str
    paths: dict[str, Any] = Field(default_factory=dict)
