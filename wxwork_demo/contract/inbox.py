"""The inbox (`local-api.md`, "Messages: the inbox"): stored messages and the conversations they make.

Every upstream id is a string here (room and user ids pass 2^53, where a JSON number loses digits).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, model_validator

from wxwork_demo.contract import fields
from wxwork_demo.contract.base import Body, Part
from wxwork_demo.contract.common import Reply

MAX_PAGE = 500
MAX_QUERY_TEXT = 200
# Message ids are the table's own BIGINT ids (18 digits are plenty and keep the pattern exact).
MAX_MESSAGE_ID = 10**18 - 1
PAGE = fields.positive_int("Page size,", default=50, maximum=MAX_PAGE)
MESSAGE_ID = "a message id"


class Scope(Body):
    """Whose messages: an account, else the account of an instance (default: the active one)."""

    uuid: Annotated[
        str, fields.query_text("An instance: its account's messages (default: the active one).", max_length=64)
    ]
    account: Annotated[str, fields.query_text("An account (vid); wins over uuid.", max_length=64)]


class MessagesQuery(Scope):
    conversation: Annotated[
        str, fields.query_text("A conversation: a room id, or the other person's id.", max_length=64)
    ]
    after: Annotated[
        int, fields.row_id("Only messages newer than this message id.", maximum=MAX_MESSAGE_ID, noun=MESSAGE_ID)
    ]
    before: Annotated[
        int,
        fields.row_id("Only messages older than this message id (`next`).", maximum=MAX_MESSAGE_ID, noun=MESSAGE_ID),
    ]
    limit: Annotated[int, PAGE]
    type: Annotated[int | None, fields.query_code("A callback type code (102000 for messages).")]
    msgtype: Annotated[int | None, fields.query_code("A msgtype (2 text, 14 image, ...).")]
    q: Annotated[str, fields.query_text("Text the content holds.", max_length=MAX_QUERY_TEXT)]

    @model_validator(mode="after")
    def _one_direction(self) -> MessagesQuery:
        if self.after and self.before:
            raise fields.bad_input("cannot be given with before", "after")
        return self


class ConversationsQuery(Scope):
    limit: Annotated[int, PAGE]


class Media(Part):
    """What a download of the message's file needs."""

    file_id: str = ""
    aes_key: str = ""
    md5: str = ""
    file_size: int = 0
    file_name: str = ""
    auth_key: str = ""


class Message(Part):
    """One stored callback (a message, or another kind the inbox keeps), parsed."""

    id: int
    uuid: str = Field(description="The instance it came through.")
    account: str = Field(description="The account (vid).")
    type: int = Field(description="The callback type code (102000 for messages).")
    msgtype: int | None
    conversation: str = Field(description="The room id in rooms, else the other person.")
    is_room: bool
    sender: str
    receiver: str
    content: str
    msg_id: str
    server_id: str
    send_time: str = Field(description="ISO-8601 UTC, empty when the callback has none.")
    received_at: str = Field(description="ISO-8601 UTC with milliseconds.")
    is_sync: bool = Field(description="Pushed again by SyncAllData (catch-up).")
    at_list: Annotated[list[Any], WithJsonSchema({"type": "array", "description": "Who was @-mentioned."})]
    media: Media | None
    payload: Annotated[
        dict[str, Any],
        WithJsonSchema({"type": "object", "description": "The callback's payload; integers beyond 2^53 as strings."}),
    ]


class Messages(Reply):
    messages: list[Message] = Field(description="Newest first.")
    next: int | None = Field(description="The `before=` of the older page; null at the end.")
    more: bool = Field(description="With after=: newer messages remain beyond this page.")


class OneMessage(Reply):
    message: Message


class Conversation(Part):
    id: str
    is_room: bool
    title: str
    last_message: Message
    count: int


class Conversations(Reply):
    conversations: list[Conversation] = Field(description="The most recently active first.")


class MediaFile(Part):
    """The message's file itself (an image, a file, a voice or a video), with its content type."""
