"""Console sign-ins that logout can revoke, and sign-in attempts counted per client address for the throttle.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
PRECISE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_logins",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("created_at", PRECISE_TIME, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("idx_console_logins_created_at", "console_logins", ["created_at"])
    op.create_table(
        "signin_attempts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("created_at", PRECISE_TIME, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("idx_signin_attempts_client", "signin_attempts", ["client", "created_at"])
    op.create_index("idx_signin_attempts_created_at", "signin_attempts", ["created_at"])


def downgrade() -> None:
    op.drop_table("signin_attempts")
    op.drop_table("console_logins")
