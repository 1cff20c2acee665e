"""Create `sessions` and `events` exactly as the seed's DDL.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    is_mysql = op.get_bind().dialect.name in ("mysql", "mariadb")
    updated_default = "CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP" if is_mysql else "CURRENT_TIMESTAMP"
    op.create_table(
        "sessions",
        sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(64), nullable=False),
        sa.Column("vid", sa.String(64), server_default=""),
        sa.Column(
            "is_login",
            sa.Boolean().with_variant(mysql.TINYINT(1), "mysql", "mariadb"),
            nullable=False,
            server_default=sa.text("0"),
        ),
        sa.Column("qrcode", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")),
        sa.Column("qrcode_key", sa.String(128), server_default=""),
        sa.Column("last_event", sa.String(255), server_default=""),
        sa.Column("last_error", sa.Text()),
        sa.Column("updated_at", sa.DateTime(), nullable=False, server_default=sa.text(updated_default)),
        **MYSQL_TABLE,
    )
    op.create_index("uk_uuid", "sessions", ["uuid"], unique=True)
    op.create_index("idx_updated_at", "sessions", ["updated_at"])

    op.create_table(
        "events",
        sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("session_uuid", sa.String(64), server_default=""),
        sa.Column("stage", sa.String(64), server_default=""),
        sa.Column("event_type", sa.String(64), server_default=""),
        sa.Column("payload", sa.JSON()),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")),
        **MYSQL_TABLE,
    )
    op.create_index("idx_created_at", "events", ["created_at"])
    op.create_index("idx_session_uuid", "events", ["session_uuid"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("sessions")
