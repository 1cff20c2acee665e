"""The messages an account sent through this app (`sent_messages`): their upstream ids, kept for revoke and for
the console's list, and the outcome of each paced send (services/business/pacing.py adds the row).

May call: instances, events, upstream_calls.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from wxwork_demo.chores import chore
from wxwork_demo.config import current_settings
from wxwork_demo.contract import business as contract
from wxwork_demo.db import after_commit, db_session, get_db
from wxwork_demo.errors import AppError, BadInput
from wxwork_demo.models import Instance, SentMessage, iso_utc, table_of, utcnow
from wxwork_demo.services.business.pacing import Pacing, Send, Turn, reserve
from wxwork_demo.services.instances.registry import InstanceIds, account_key, require_instance
from wxwork_demo.services.upstream_calls import Keep, client, store_after_upstream, traced
from wxwork_demo.upstream import Reply, UpstreamError, id_text

SENT, FAILED, REVOKED = "sent", "failed", "revoked"
# What is kept of the messages sent: a revoke is refused upstream after minutes, the loop guard looks back one
# minute, the console shows the newest; a month answers "did we send that?" and keeps the table small.
KEPT_DAYS = 30
# Rows older than that are deleted in a chore, asked for once per this many sends (by row id, across processes).
FORGET_EVERY = 100
FORGET_CHUNK = 5000
SENT_TABLE = table_of(SentMessage)
# Built once (building it per call costs more CPU than running it); SET takes the columns given to execute.
SET_FIELDS = update(SENT_TABLE).where(SENT_TABLE.c.id == bindparam("sent_id"))


def take_turn(
    instance: Instance | InstanceIds, conversation: int, is_room: bool, kind: str, content: str, summary: str
) -> Turn:
    """Reserve the account's next send slot for this message (429 when it cannot be had) and commit the session;
    no connection is held afterwards, so the caller may wait for it."""
    send = Send(account_key(instance), instance.uuid, str(conversation), is_room, kind, content, summary)
    return reserve(send, Pacing.of(current_settings()))


def sent_ids(reply: Reply) -> tuple[str, str]:
    """(msg_id, server_id) of a send's echo, as decimal strings ("" when the upstream gave none)."""
    data = reply.data if isinstance(reply.data, dict) else {}
    return id_text(data.get("msg_id")), id_text(data.get("server_id"))


def keep_outcome(turn: Turn) -> Keep:
    """What a send keeps of its outcome, as `traced`'s `keep` (one commit with the send's event row): the
    message's ids and SENT, or FAILED (its slot stays taken; it does not count for the loop guard). A
    database failure there is logged, never raised: the message went out."""

    def keep(outcome: Reply | UpstreamError) -> None:
        if isinstance(outcome, Reply):
            msg_id, server_id = sent_ids(outcome)
            _update(
                turn.sent_id, {"status": SENT, "msg_id": msg_id, "server_id": int(server_id) if server_id else None}
            )
        else:
            _update(turn.sent_id, {"status": FAILED})
        if turn.sent_id % FORGET_EVERY == 0:
            after_commit(db_session(), chore("forget-old-sends", forget_old_sends).request)

    return keep


def forget_old_sends(days: float = KEPT_DAYS) -> int:
    """Delete what was sent more than `days` ago, a chunk per transaction; returns the rows deleted."""
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    with get_db().engine.connect() as connection:
        while True:
            ids = connection.scalars(
                select(SentMessage.id)
                .where(SentMessage.created_at < cutoff)
                .order_by(SentMessage.id)
                .limit(FORGET_CHUNK)
            ).all()
            if not ids:
                return deleted
            deleted += connection.execute(delete(SentMessage).where(SentMessage.id.in_(ids))).rowcount
            connection.commit()


def mark_failed(turn: Turn, uuid: str) -> None:
    """The send failed before its sending call (an upload, its answer): it does not count for the loop guard
    (its slot stays taken). A failure of the sending call itself is kept by `keep_outcome`."""
    store_after_upstream("failed send", uuid, lambda: _update(turn.sent_id, {"status": FAILED}))


def revoke(uuid: str, msg_id: int, room_id: int) -> contract.Revoked:
    """RevokeMsg of a message this app sent through the account; 404 for any other."""
    instance = require_instance(uuid)
    text_id = str(msg_id)
    row = (
        db_session()
        .scalars(
            select(SentMessage)
            .where(SentMessage.account == account_key(instance), SentMessage.msg_id == text_id)
            .where(SentMessage.status.in_((SENT, REVOKED)))
            .order_by(SentMessage.id.desc())
            .limit(1)
        )
        .first()
    )
    if row is None or not text_id:
        raise AppError(
            404,
            f"message {text_id} was not sent through this account by this app",
            code="unknown_message",
            field="msgId",
        )
    if row.status == REVOKED:
        raise AppError(409, f"message {text_id} was revoked already", code="already_revoked", field="msgId")
    room = int(row.conversation) if row.is_room else 0
    if room_id and room_id != room:
        raise BadInput("roomId", f"roomId {room_id} is not the room message {text_id} went to ({room or 'none'})")
    reply = traced("revoke", instance.uuid, client().revoke, instance.uuid, text_id, room)
    values = {"status": REVOKED, "revoked_at": utcnow()}
    store_after_upstream("revoke", instance.uuid, lambda: _update(row.id, values))
    return contract.Revoked(request=reply.request, raw=reply.envelope, msg_id=text_id)


def recent(uuid: str, limit: int = 50) -> contract.SentList:
    """The account's messages sent (and revoked) through this app, newest first."""
    instance = require_instance(uuid)
    rows = db_session().scalars(
        select(SentMessage)
        .where(SentMessage.account == account_key(instance), SentMessage.status.in_((SENT, REVOKED)))
        .order_by(SentMessage.id.desc())
        .limit(limit)
    )
    return contract.SentList(uuid=instance.uuid, messages=[_info(row) for row in rows])


def _info(row: SentMessage) -> contract.SentInfo:
    return contract.SentInfo(
        id=row.id,
        msg_id=row.msg_id,
        server_id=str(row.server_id or ""),
        conversation=row.conversation,
        is_room=row.is_room,
        kind=row.kind,
        summary=row.summary,
        status=row.status,
        created_at=iso_utc(row.created_at),
        revoked_at=iso_utc(row.revoked_at),
    )


def _update(sent_id: int, values: dict[str, Any]) -> None:
    """Set `values` on the sent row, in the unit of work (committed by store_after_upstream)."""
    db_session().connection().execute(SET_FIELDS, {"sent_id": sent_id, **values})
