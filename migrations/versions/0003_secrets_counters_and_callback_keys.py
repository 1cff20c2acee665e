"""Generated secrets shared by every process, counters, and the callback de-duplication keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
PRECISE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        **MYSQL_TABLE,
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
        **MYSQL_TABLE,
    )
    op.create_table(
        "callback_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("created_at", PRECISE_TIME, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("idx_callback_keys_created_at", "callback_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("callback_keys")
    op.drop_table("counters")
    op.drop_table("app_secrets")
