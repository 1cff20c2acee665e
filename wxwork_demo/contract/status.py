"""Reads: health, upstream reachability, the current state, the events log."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part, optional
from wxwork_demo.contract.common import EventInfo, InstanceInfo, MonitorStatus, Reply


class Health(Reply):
    now: str
    base_url: str
    callback_url: str


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
