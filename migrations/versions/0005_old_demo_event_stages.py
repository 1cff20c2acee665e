"""Event stages take the old demo's names (local-api.md, "Event stages"), existing rows included.

Dashboards and SQL written for the old demo filter `events.stage` by `check_code`, `send_text_error`, ...
A failed call was recorded under its call's stage with an event type `Action:kind`; it now has the stage
`<call>_error` (the reconnect's failures all `reconnect_error`, as in the old demo).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# stage before -> (stage of its successful calls, stage of its failures)
CALL_STAGES = {
    "init": ("init", "init_error"),
    "set-callback": ("set_callback", "set_callback_error"),
    "get-qrcode": ("get_qrcode", "get_qrcode_error"),
    "check-code": ("check_code", "check_code_error"),
    "automatic-login": ("automatic_login", "automatic_login_error"),
    "refresh-run-client": ("refresh_status", "get_run_client_error"),
    "send-text": ("send_text", "send_text_error"),
    "contacts": ("get_contacts", "get_contacts_error"),
    "secondary-validation": ("secondary_validation", "secondary_validation_error"),
    "upstream-check": ("upstream_check", "upstream_check_error"),
    "monitor": ("monitor_check", "monitor_check_error"),
}
# The reconnect's calls each had the stage "reconnect"; the old demo names them by action.
RECONNECT_ACTIONS = {
    "init": "reconnect_init",
    "SetCallbackUrl": "reconnect_set_callback",
    "automaticLogin": "reconnect_automatic_login",
    "getQrCode": "reconnect_get_qrcode",
}
MONITOR_CALLBACK_REFRESH = ("monitor", "callback-refreshed", "monitor_set_callback")

events = sa.table("events", sa.column("stage", sa.String), sa.column("event_type", sa.String))
FAILED = events.c.event_type.like("%:%")


def _rename(where, stage: str) -> None:
    op.execute(events.update().where(where).values(stage=stage))


def upgrade() -> None:
    old, event_type, new = MONITOR_CALLBACK_REFRESH
    _rename((events.c.stage == old) & (events.c.event_type == event_type), new)
    for action, stage in RECONNECT_ACTIONS.items():
        _rename((events.c.stage == "reconnect") & (events.c.event_type == action), stage)
    _rename((events.c.stage == "reconnect") & FAILED, "reconnect_error")
    for old, (success, failure) in CALL_STAGES.items():
        _rename((events.c.stage == old) & FAILED, failure)
        _rename((events.c.stage == old) & ~FAILED, success)


def downgrade() -> None:
    for old, (success, failure) in CALL_STAGES.items():
        _rename(events.c.stage.in_([success, failure]), old)
    _rename(events.c.stage.in_([*RECONNECT_ACTIONS.values(), "reconnect_error"]), "reconnect")
    old, _event_type, new = MONITOR_CALLBACK_REFRESH
    _rename(events.c.stage == new, old)
