"""Send a text, read contacts (`local-api.md`, "Business")."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part
from wxwork_demo.contract.common import Reply, UpstreamReply
from wxwork_demo.contract.fields import bad_input
from wxwork_demo.contract.login import Uuid

LIMIT = fields.positive_int("Page size,")
SEQ = fields.cursor("Numeric cursor of the external contacts (default 0).", field="external.seq")
STR_SEQ = fields.string_cursor('Cursor of the inner contacts ("" for the first page).')


class SendTextBody(Body):
    REQUIRED = ("send_userid", "is_room", "content")

    uuid: Uuid
    send_userid: Annotated[int, fields.upstream_id("The contact or group id.", required=True)] = Field(
        validation_alias=AliasChoices("send_userid", "sendUserid")
    )
    is_room: Annotated[bool, fields.flag("true for a group.", required=True)] = Field(alias="isRoom")
    content: Annotated[str, fields.message_text("The text to send.")]
    kf_id: Annotated[int, fields.upstream_id("Customer-service id (default 0).")] = Field(
        validation_alias=AliasChoices("kf_id", "kfId")
    )


class InnerPage(Body):
    limit: Annotated[int, LIMIT]
    str_seq: Annotated[str, STR_SEQ] = Field(alias="strSeq")


class ExternalPage(Body):
    limit: Annotated[int, LIMIT]
    seq: Annotated[int, SEQ] = Field(validation_alias=AliasChoices("seq", "strSeq"))


def _section(body: dict, name: str) -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_input('must be an object like {"limit": 100}', name)
    return value


class ContactsBody(Body):
    """Nested `inner: {limit, strSeq}` and `external: {limit, seq}`, or the old demo's flat fields."""

    uuid: Uuid
    inner: InnerPage
    external: ExternalPage

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        inner, external = _section(data, "inner"), _section(data, "external")
        # The old demo sent `strSeq` for external contacts too; the upstream documents a numeric `seq`.
        seq = next(
            (
                value
                for value in (
                    external.get("seq"),
                    external.get("strSeq"),
                    data.get("externalStrSeq"),
                    data.get("externalSeq"),
                )
                if value not in (None, "")
            ),
            None,
        )
        return {
            "uuid": cls.given(data, "uuid")[1],
            "inner": {
                "limit": inner.get("limit", data.get("innerLimit")),
                "strSeq": inner.get("strSeq", data.get("innerStrSeq", "")),
            },
            "external": {"limit": external.get("limit", data.get("externalLimit")), "seq": seq},
        }

    @classmethod
    def document(cls, schema: dict[str, Any]) -> None:
        properties = schema["properties"]
        for section in ("inner", "external"):
            properties[section] = {"anyOf": [properties[section], {"type": "null"}]}
        flat = {"innerLimit": LIMIT, "innerStrSeq": STR_SEQ, "externalLimit": LIMIT, "externalStrSeq": SEQ}
        for name, reader in flat.items():
            properties[name] = {**reader.schema, "description": "The old demo's flat field."}
        properties["externalSeq"] = properties["externalStrSeq"]


class SendText(Reply):
    request: dict[str, Any] = Field(description="The payload sent upstream.")
    raw: UpstreamReply


class ContactsRequest(Part):
    inner: dict[str, Any]
    external: dict[str, Any]


class ContactsSummary(Part):
    inner_count: int
    external_count: int


class Contacts(Reply):
    uuid: str
    request: ContactsRequest
    summary: ContactsSummary
    inner: UpstreamReply
    external: UpstreamReply
