"""Send texts, images and files, revoke them, read contacts (`local-api.md`, "Business", "Sending more than
text")."""

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


SEND_USERID = AliasChoices("send_userid", "sendUserid")
TARGET = fields.upstream_id("The contact or group id.", required=True)
IS_ROOM = fields.flag("true for a group.", required=True)


class SendTextBody(Body):
    REQUIRED = ("send_userid", "is_room", "content")

    uuid: Uuid
    send_userid: Annotated[int, TARGET] = Field(validation_alias=SEND_USERID)
    is_room: Annotated[bool, IS_ROOM] = Field(alias="isRoom")
    content: Annotated[str, fields.message_text("The text to send.")]
    kf_id: Annotated[int, fields.upstream_id("Customer-service id (default 0).")] = Field(
        validation_alias=AliasChoices("kf_id", "kfId")
    )
    at: Annotated[list[int], fields.id_list("Room members to @mention (rooms only): SendTextAtMsg.")]
    at_all: Annotated[bool, fields.flag("@all in the room (rooms only): SendTextAtMsgTwo.")] = Field(alias="atAll")


class SendMediaBody(Body):
    """An image or a file to send: `url` in a JSON body, or a multipart/form-data body with `file` (and these
    fields as form fields)."""

    REQUIRED = ("send_userid", "is_room")

    uuid: Uuid
    send_userid: Annotated[int, TARGET] = Field(validation_alias=SEND_USERID)
    is_room: Annotated[bool, IS_ROOM] = Field(alias="isRoom")
    url: Annotated[str, fields.http_url("Where the upstream fetches it (http/https); or a multipart `file`.")]
    kf_id: Annotated[int, fields.upstream_id("Customer-service id (default 0; images).")] = Field(
        validation_alias=AliasChoices("kf_id", "kfId")
    )


class SendFileBody(SendMediaBody):
    filename: Annotated[
        str, fields.file_name("The name the recipient sees (default: the uploaded file's, or the URL's last part).")
    ]


class RevokeBody(Body):
    REQUIRED = ("msg_id",)

    uuid: Uuid
    msg_id: Annotated[int, fields.upstream_id("The msgId a send answered.", required=True)] = Field(
        validation_alias=AliasChoices("msgId", "msgid", "msg_id")
    )
    room_id: Annotated[int, fields.upstream_id("The room of the message (rooms only; 0 or absent otherwise).")] = Field(
        validation_alias=AliasChoices("roomId", "roomid", "room_id")
    )


class SentQuery(Body):
    uuid: Uuid
    limit: Annotated[int, fields.positive_int("How many,", default=50, maximum=500)]


class InnerPage(Body):
    limit: Annotated[int, LIMIT]
    str_seq: Annotated[str, STR_SEQ] = Field(alias="strSeq")


class ExternalPage(Body):
    limit: Annotated[int, LIMIT]
    seq: Annotated[int, SEQ] = Field(validation_alias=AliasChoices("seq", "strSeq"))


def _section(body: dict[str, Any], name: str) -> dict[str, Any]:
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
    """Sent: the payload sent upstream, its answer, and the message's ids (kept for revoke)."""

    request: dict[str, Any] = Field(description="The payload sent upstream.")
    raw: UpstreamReply
    msg_id: str = Field(description="The sent message's msg_id (a decimal string; revoke takes it).")
    server_id: str = Field(description="The sent message's server_id (a decimal string).")
    waited_ms: int = Field(0, description="How long the send waited for its turn (paced sending).")
    sent_at: str = Field("", description="When it went upstream, after its turn came (ISO-8601 UTC, milliseconds).")


class UploadStep(Part):
    request: dict[str, Any] = Field(description="The upload's payload (a local file is described, never sent back).")
    raw: UpstreamReply


class SendMedia(SendText):
    """Sent in two upstream steps: `upload` is the first (the CDN upload), `request`/`raw` the second."""

    upload: UploadStep


class Revoked(Reply):
    request: dict[str, Any] = Field(description="The payload sent upstream (RevokeMsg).")
    raw: UpstreamReply
    msg_id: str


class SentInfo(Part):
    id: int
    msg_id: str
    server_id: str
    conversation: str
    is_room: bool
    kind: str = Field(description="text, image or file.")
    summary: str
    status: str = Field(description="sent or revoked.")
    created_at: str
    revoked_at: str


class SentList(Reply):
    """Messages the account sent through this app, newest first."""

    uuid: str
    messages: list[SentInfo]


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
