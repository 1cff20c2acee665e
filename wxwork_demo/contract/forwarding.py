"""Forwarding (`local-api.md`, "Forwarding"): the deliveries of the outbox, their replay, a test delivery."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part
from wxwork_demo.contract.common import Reply

STATUSES = ("pending", "delivered", "dead")
MAX_REPLAY_IDS = 1000
MAX_DELIVERY_ID = 2**63 - 1


class DeliveriesQuery(Body):
    status: Annotated[str | None, fields.choice(STATUSES, "Only deliveries in this state.")]
    target: Annotated[str, fields.query_text("A target URL as listed.", max_length=255)]
    after: Annotated[int, fields.row_id("Only deliveries with a larger id.", maximum=10**18 - 1, noun="a delivery id")]
    limit: Annotated[int, fields.positive_int("Page size,", default=50, maximum=500)]


def _read_ids(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_REPLAY_IDS:
        raise fields.bad_input(f"must be a list of at most {MAX_REPLAY_IDS} delivery ids")
    ids = []
    for item in value:
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item <= MAX_DELIVERY_ID:
            raise fields.bad_input("must be delivery ids (positive integers)")
        ids.append(item)
    return ids


IDS = fields.Reader(
    _read_ids,
    {
        "type": ["array", "null"],
        "items": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERY_ID},
        "maxItems": MAX_REPLAY_IDS,
        "description": "Delivery ids.",
    },
)


class ReplayBody(Body):
    """`{"ids": [...]}` or `{"status": "dead"}` (both: the ids in that state)."""

    ids: Annotated[list[int] | None, IDS]
    status: Annotated[str | None, fields.choice(STATUSES, "Every delivery in this state.")]

    @model_validator(mode="after")
    def _something(self) -> ReplayBody:
        if self.ids is None and self.status is None:
            raise fields.bad_input('is required: give "ids": [delivery ids] or "status": "dead"', "ids")
        return self

    @classmethod
    def document(cls, schema: dict[str, Any]) -> None:
        schema["anyOf"] = [{"required": ["ids"]}, {"required": ["status"]}]


class Delivery(Part):
    id: int = Field(description="The X-Wxwork-Delivery header of every attempt.")
    message_id: int
    target: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    last_status: int | None = Field(description="The HTTP status of the last attempt (null: no answer).")
    last_error: str
    next_attempt_at: str = Field(description="ISO-8601 UTC while pending, else empty.")
    delivered_at: str


class Counts(Part):
    pending: int
    delivered: int
    dead: int


class TargetSummary(Part):
    url: str
    counts: Counts
    last_error: str
    last_error_status: int | None


class Deliveries(Reply):
    deliveries: list[Delivery] = Field(description="Newest first.")
    counts: Counts
    targets: list[TargetSummary] = Field(description="Each configured target, with its counts and last error.")


class Replayed(Reply):
    requeued: int


class ProbeResult(Part):
    url: str
    status: int | None = Field(description="The HTTP status (null: no answer).")
    ms: float
    error: str = Field(description="Empty for a 2xx within FORWARD_TIMEOUT_S.")


class ForwardTest(Part):
    """`ok` says whether every target took the test delivery."""

    ok: bool
    targets: list[ProbeResult]
