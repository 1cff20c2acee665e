"""What a logged-in account does: send a text (with @mentions in rooms), read its contacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wxwork_demo.contract import business as contract
from wxwork_demo.db import db_session
from wxwork_demo.errors import BadInput
from wxwork_demo.services.business.pacing import now_iso_ms
from wxwork_demo.services.business.sent_log import keep_outcome, sent_ids, take_turn
from wxwork_demo.services.instances.registry import require_instance, require_instance_ids, save_instance
from wxwork_demo.services.upstream_calls import client, traced, traced_together
from wxwork_demo.upstream import Reply, UpstreamError, at_segments


@dataclass(frozen=True)
class ContactsPage:
    """Which page of each list to read: inner by its string cursor, external by its numeric one."""

    inner_limit: int = 100
    inner_str_seq: str = ""
    external_limit: int = 100
    external_seq: int = 0


def send_text(
    uuid: str,
    send_userid: int,
    is_room: bool,
    content: str,
    kf_id: int = 0,
    at: tuple[int, ...] | list[int] = (),
    at_all: bool = False,
) -> contract.SendText:
    """Send `content` to a contact (`is_room` false) or a group (`is_room` true), paced per account.

    With `at` (members' user ids) the text @mentions them (SendTextAtMsg); with `at_all` it @mentions everybody
    (SendTextAtMsgTwo, `vid` 0). Both are for rooms only: on a one-to-one chat they are a 400.
    """
    if (at or at_all) and not is_room:
        field = "at" if at else "atAll"
        raise BadInput(field, f"{field} is for rooms only (isRoom true): a one-to-one chat has nobody to @mention")
    instance = require_instance_ids(uuid)
    api = client()
    call: Callable[..., Reply]
    args: tuple[Any, ...]
    if at_all:
        call, args = api.send_text_segments, (instance.uuid, send_userid, at_segments(content, list(at), True))
    elif at:
        call, args = api.send_text_at, (instance.uuid, send_userid, list(at), content)
    else:
        call, args = api.send_text, (instance.uuid, send_userid, is_room, content, kf_id)
    what = json.dumps([content, sorted(at), at_all], ensure_ascii=False)
    turn = take_turn(instance, send_userid, is_room, "text", what, content)
    waited = turn.wait()
    sent_at = now_iso_ms()
    reply = traced("send_text", instance.uuid, call, *args, keep=keep_outcome(turn))
    msg_id, server_id = sent_ids(reply)
    return contract.SendText(
        request=reply.request,
        raw=reply.envelope,
        msg_id=msg_id,
        server_id=server_id,
        waited_ms=waited,
        sent_at=sent_at,
    )


def contacts(uuid: str, page: ContactsPage) -> contract.Contacts:
    """One page of the inner directory and one of the external contacts, fetched together."""
    instance = require_instance(uuid)
    api = client()
    inner, external = traced_together(
        "get_contacts",
        instance.uuid,
        [
            (api.inner_contacts, (instance.uuid, page.inner_limit, page.inner_str_seq)),
            (api.external_contacts, (instance.uuid, page.external_limit, page.external_seq)),
        ],
    )
    for outcome in (inner, external):
        if isinstance(outcome, UpstreamError):
            save_instance(instance.uuid, last_error=outcome.message)
            db_session().commit()
            raise outcome
    if not (isinstance(inner, Reply) and isinstance(external, Reply)):
        raise TypeError("a contacts call gave neither a reply nor an upstream error")
    return contract.Contacts(
        uuid=instance.uuid,
        request=contract.ContactsRequest(inner=inner.request, external=external.request),
        summary=contract.ContactsSummary(inner_count=_count(inner), external_count=_count(external)),
        inner=inner.envelope,
        external=external.envelope,
    )


def _count(reply: Reply) -> int:
    data = reply.data if isinstance(reply.data, dict) else {}
    items = data.get("list")
    return len(items) if isinstance(items, list) else 0
