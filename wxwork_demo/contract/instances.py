"""Instances as the console manages them: the default one, and a person's help when an account needs it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, optional
from wxwork_demo.contract.common import InstanceInfo, Reply


class RequiredUuidBody(Body):
    REQUIRED = ("uuid",)

    uuid: Annotated[str, fields.text(64, "The upstream instance.", required=True)]


class Activated(Reply):
    active: InstanceInfo


class Reconnected(Reply):
    online: bool
    session: InstanceInfo


class SecondaryValidation(Reply):
    session: InstanceInfo


class DeleteBody(RequiredUuidBody):
    force: Annotated[
        bool,
        fields.flag("Delete the row even when the upstream cannot be asked to close the instance (default false)."),
    ]


UpstreamClose = Literal["closed", "refused", "not_closed"]


class Deleted(Reply):
    """The instance's row is gone; `upstreamClose` says what became of the instance upstream."""

    uuid: str
    upstream_close: UpstreamClose = Field(
        description="closed: CloseConnent succeeded; refused: the upstream has no such instance open (or would "
        "not close it); not_closed: the upstream could not be asked (only with force)."
    )
    warning: str | None = optional()
    active: InstanceInfo = Field(description="The active instance now (empty when none is left).")
