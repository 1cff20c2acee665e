"""The upstream's webhook (`upstream-api.md` §4): what it posts and what it is answered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema

from wxwork_demo.contract.base import Body, Part, optional


class CallbackBody(Body):
    """Documents the webhook's body; `services/intake/callbacks.parse_callback` reads it (both doors share it)."""

    REQUIRED = ("type",)

    uuid: Annotated[Any, WithJsonSchema({"description": "The instance (any JSON value, read as text)."})]
    type: Annotated[
        Any,
        WithJsonSchema(
            {"type": ["integer", "string"], "pattern": "^-?[0-9]{1,18}$", "description": "The event code, e.g. 104001."}
        ),
    ]
    json_: Annotated[Any, WithJsonSchema({"description": "The event: an object, or a JSON string of one."})] = Field(
        alias="json"
    )


class CallbackQuery(Body):
    REQUIRED = ("token",)

    token: Annotated[
        str,
        WithJsonSchema({"type": "string", "description": "CALLBACK_TOKEN: the registered callback URL carries it."}),
    ]


class Stored(Part):
    """Stored (or already stored: `duplicate`)."""

    errcode: Literal[0]
    errmsg: Literal["ok"]
    duplicate: bool | None = optional()
