"""Explicit session state, reconnect bookkeeping, account profile, and the monitor's lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PRECISE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

NEW_SESSION_COLUMNS = [
    sa.Column("state", sa.String(32), nullable=False, server_default="initialised"),
    sa.Column("state_reason", sa.String(255), nullable=False, server_default=""),
    sa.Column("state_changed_at", PRECISE_TIME),
    sa.Column("account_name", sa.String(128), nullable=False, server_default=""),
    sa.Column("corp_name", sa.String(128), nullable=False, server_default=""),
    sa.Column("avatar", sa.String(512), nullable=False, server_default=""),
    sa.Column("qrcode_expires_at", PRECISE_TIME),
    sa.Column("reconnect_attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_action", sa.String(32), nullable=False, server_default=""),
    sa.Column("next_action_at", PRECISE_TIME),
    sa.Column("callback_registered_at", PRECISE_TIME),
    sa.Column("alerted_at", PRECISE_TIME),
]


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        for column in NEW_SESSION_COLUMNS:
            batch.add_column(column)
    op.create_index("idx_state", "sessions", ["state"])
    op.create_index("idx_next_action_at", "sessions", ["next_action_at"])
    # Existing rows: a logged-in row is online; one that belongs to an account but is not, is offline.
    op.execute("UPDATE sessions SET state = 'online' WHERE is_login = 1")
    op.execute("UPDATE sessions SET state = 'offline' WHERE is_login = 0 AND vid IS NOT NULL AND vid <> ''")

    op.create_table(
        "monitor_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("owner", sa.String(128), nullable=False, server_default=""),
        sa.Column("expires_at", PRECISE_TIME),
        sa.Column("pass_started_at", PRECISE_TIME),
        sa.Column("pass_finished_at", PRECISE_TIME),
        sa.Column("last_reconnect_at", PRECISE_TIME),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("monitor_lease")
    op.drop_index("idx_next_action_at", "sessions")
    op.drop_index("idx_state", "sessions")
    with op.batch_alter_table("sessions") as batch:
        for column in reversed(NEW_SESSION_COLUMNS):
            batch.drop_column(column.name)
