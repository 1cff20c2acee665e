"""What a logged-in account does: send a text, read its contacts."""

from __future__ import annotations

from dataclasses import dataclass

from wxwork_demo.services.instances.registry import require_instance, save_instance
from wxwork_demo.services.upstream_calls import client, traced, traced_together
from wxwork_demo.upstream import Reply, UpstreamError


@dataclass(frozen=True)
class ContactsPage:
    """Which page of each list to read: inner by its string cursor, external by its numeric one."""

    inner_limit: int = 100
    inner_str_seq: str = ""
    external_limit: int = 100
    external_seq: int = 0


def send_text(uuid: str, send_userid: int, is_room: bool, content: str, kf_id: int = 0) -> dict:
    """Send `content` to a contact (`is_room` false) or a group (`is_room` true)."""
    session = require_instance(uuid)
    reply = traced("send_text", session.uuid, client().send_text, session.uuid, send_userid, is_room, content, kf_id)
    return {"ok": True, "request": reply.request, "raw": reply.envelope}


def contacts(uuid: str, page: ContactsPage) -> dict:
    """One page of the inner directory and one of the external contacts, fetched together."""
    session = require_instance(uuid)
    api = client()
    inner, external = traced_together(
        "get_contacts",
        session.uuid,
        [
            (api.inner_contacts, (session.uuid, page.inner_limit, page.inner_str_seq)),
            (api.external_contacts, (session.uuid, page.external_limit, page.external_seq)),
        ],
    )
    for outcome in (inner, external):
        if isinstance(outcome, UpstreamError):
            save_instance(session.uuid, last_error=outcome.message)
            raise outcome
    assert isinstance(inner, Reply) and isinstance(external, Reply)
    return {
        "ok": True,
        "uuid": session.uuid,
        "request": {"inner": inner.request, "external": external.request},
        "summary": {"innerCount": _count(inner), "externalCount": _count(external)},
        "inner": inner.envelope,
        "external": external.envelope,
    }


def _count(reply: Reply) -> int:
    data = reply.data if isinstance(reply.data, dict) else {}
    items = data.get("list")
    return len(items) if isinstance(items, list) else 0
