"""What a logged-in account does: send a text, read its contacts."""

from __future__ import annotations

from dataclasses import dataclass

from wxwork_demo.contract import business as contract
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


def send_text(uuid: str, send_userid: int, is_room: bool, content: str, kf_id: int = 0) -> contract.SendText:
    """Send `content` to a contact (`is_room` false) or a group (`is_room` true)."""
    instance = require_instance(uuid)
    reply = traced("send_text", instance.uuid, client().send_text, instance.uuid, send_userid, is_room, content, kf_id)
    return contract.SendText(request=reply.request, raw=reply.envelope)


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
