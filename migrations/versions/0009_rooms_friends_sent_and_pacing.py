"""Sending more than text: cached room lists, friend requests, the messages we sent (for revoke and the loop
guard) and each account's sending pace.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, sqlite

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
PRECISE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PAYLOAD = sa.JSON().with_variant(sqlite.JSON(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "room_lists",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("rooms", PAYLOAD),
        sa.Column("fetched_at", PRECISE_TIME, nullable=False),
        sa.Column("changed_at", PRECISE_TIME),
        **MYSQL_TABLE,
    )
    op.create_table(
        "friend_requests",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("applicant", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("avatar", sa.String(512), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="waiting"),
        sa.Column("source", sa.String(16), nullable=False, server_default=""),
        sa.Column("applied_at", sa.DateTime()),
        sa.Column("updated_at", PRECISE_TIME, nullable=False),
        sa.Column("payload", PAYLOAD),
        **MYSQL_TABLE,
    )
    op.create_index("idx_friend_requests_account_updated", "friend_requests", ["account", "updated_at"])
    op.create_table(
        "sent_messages",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("uuid", sa.String(64), nullable=False, server_default=""),
        sa.Column("conversation", sa.String(64), nullable=False),
        sa.Column("is_room", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("summary", sa.String(255), nullable=False, server_default=""),
        sa.Column("msg_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("server_id", sa.BigInteger()),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_at", PRECISE_TIME, nullable=False),
        sa.Column("revoked_at", PRECISE_TIME),
        **MYSQL_TABLE,
    )
    op.create_index("idx_sent_messages_account_msg", "sent_messages", ["account", "msg_id"])
    op.create_index("idx_sent_messages_recent", "sent_messages", ["account", "conversation", "created_at"])
    op.create_index("idx_sent_messages_created_at", "sent_messages", ["created_at"])
    op.create_table(
        "send_pacing",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("next_at_ms", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("turns", sa.BigInteger(), nullable=False, server_default="0"),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("send_pacing")
    op.drop_table("sent_messages")
    op.drop_table("friend_requests")
    op.drop_table("room_lists")
