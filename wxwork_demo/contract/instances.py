"""Instances as the console manages them: the default one, and a person's help when an account needs it."""

from __future__ import annotations

from typing import Annotated

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body
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
