"""What a person asks of the monitor from the console: bring an account back now, or a new
SecondaryValidation QR code for an account waiting for secondary verification (`/api/sessions/...`).
The upstream work is the reconnect policy's (reconnect.py); this module checks the request and answers
with the instance as it is afterwards.
"""

from __future__ import annotations

from wxwork_demo.contract.instances import Reconnected, SecondaryValidation
from wxwork_demo.db import db_session
from wxwork_demo.errors import AppError
from wxwork_demo.models import Instance
from wxwork_demo.services.instances.registry import instance_info, require_instance
from wxwork_demo.services.instances.state import awaits_secondary_validation
from wxwork_demo.services.monitor import reconnect


def reconnect_now(uuid: str) -> Reconnected:
    """init(vid) → SetCallbackUrl → automaticLogin now; a refusal leaves a fresh QR code to scan."""
    row = require_instance(uuid)
    if not row.vid:
        message = "this session never logged in (no vid): start a first login instead"
        raise AppError(400, message, code="never_logged_in", field="uuid")
    online = reconnect.reconnect_now(row.id)
    return Reconnected(online=online, session=instance_info(_reloaded(row.id)))


def renew_secondary_validation(uuid: str) -> SecondaryValidation:
    """Fetch a new SecondaryValidation QR code (409 when no secondary verification is pending)."""
    row = require_instance(uuid)
    if not awaits_secondary_validation(row):
        message = f"no secondary verification pending (state {row.state})"
        raise AppError(409, message, code="no_secondary_verification", field="uuid")
    reconnect.fetch_secondary_validation(row.id)
    return SecondaryValidation(session=instance_info(_reloaded(row.id)))


def _reloaded(instance_id: int) -> Instance | None:
    """The row as the reconnect left it (it may have moved to a new uuid)."""
    session = db_session()
    session.expire_all()
    return session.get(Instance, instance_id)
