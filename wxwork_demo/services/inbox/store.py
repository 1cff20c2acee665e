"""Inbox rows, written in the transaction that acknowledges their callback.

The group commit (services/intake/group_commit.py) writes a callback's `messages` row as one more table of its
batch (`MESSAGE_COLUMNS`), with its outbox rows (services/forwarding/enqueue.py). A message the account already
holds (a redelivery under another uuid, a `referid` duplicate, an `issync` replay) breaks the batch's unique
key: the group commit then stores each callback of the batch alone (`store_alone`), where a message already
held is recognised and skipped.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wxwork_demo.app_state import app_owned
from wxwork_demo.db import get_db
from wxwork_demo.models import Instance, Message, utcnow
from wxwork_demo.services.forwarding.enqueue import Forwarding, add_deliveries
from wxwork_demo.services.inbox.parsing import INBOX_TYPES, message_row

MESSAGE_COLUMNS = (
    "account",
    "uuid",
    "message_key",
    "type",
    "msgtype",
    "conversation",
    "is_room",
    "sender",
    "receiver",
    "content",
    "msg_id",
    "server_id",
    "send_time",
    "received_at",
    "is_sync",
    "at_list",
    "media",
    "payload",
)
ACCOUNTS_KEY = "wxwork_inbox_accounts"
# Which account an instance is: read once per uuid and kept this long (an unknown uuid only briefly, since
# its login may be about to be stored).
ACCOUNT_TTL_S = 30.0
UNKNOWN_TTL_S = 2.0


class Accounts:
    """uuid → account (the instance's vid), read from `sessions` on a miss and kept a short while."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, float]] = {}

    def of(self, uuid: str) -> str:
        now = time.monotonic()
        with self._lock:
            found = self._known.get(uuid)
        if found is not None and found[1] > now:
            return found[0]
        account = ""
        if uuid:
            # A connection of its own, given back at once: the request then waits for its batch holding none.
            with get_db().engine.connect() as connection:
                account = connection.scalar(select(Instance.vid).where(Instance.uuid == uuid)) or ""
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[uuid] = (account, now + (ACCOUNT_TTL_S if account else UNKNOWN_TTL_S))
        return account

    def forget(self, uuid: str) -> None:
        with self._lock:
            self._known.pop(uuid, None)


def accounts() -> Accounts:
    """This app's uuid → account cache (one per app and process)."""
    return app_owned(ACCOUNTS_KEY, Accounts, Accounts)


def inbox_row(uuid: str, type_code: int, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The `messages` row of a callback the inbox keeps, or None for the others (logins, scans...).

    `payload` is already storable (services/intake/payloads.py): the row's JSON columns hold parts of it."""
    if type_code not in INBOX_TYPES:
        return None
    return message_row(uuid, accounts().of(uuid), type_code, payload, utcnow())


def held(session: Session, row: dict[str, Any]) -> bool:
    """Whether the account holds this message already (committed by another callback)."""
    found = session.scalar(
        select(Message.id).where(Message.account == row["account"], Message.message_key == row["message_key"])
    )
    return found is not None


def store_alone(session: Session, row: dict[str, Any], forwarding: Forwarding) -> bool:
    """Add the message (and its outbox rows) to `session` unless the account holds it already.

    Returns whether it was new. The caller commits, with its callback's event and dedup key.
    """
    if held(session, row):
        return False
    message = Message(**row)
    session.add(message)
    if forwarding.wants(row["type"]):
        session.flush()  # the message's id, for its outbox rows
        add_deliveries(session, message.id, forwarding)
    return True
