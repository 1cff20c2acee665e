"""The inbox (`messages`), the forwarding outbox (`deliveries`) and each account's catch-up cursor.

Upstream ids beyond 2^53 (room and user ids) are strings; `server_id` is a BIGINT (it is compared and sent
back to the upstream as a number). The indexes serve the queries of services/inbox/queries.py and the
outbox claims of services/forwarding/outbox.py.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, sqlite

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
PRECISE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
PAYLOAD = sa.JSON().with_variant(sqlite.JSON(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False, server_default=""),
        sa.Column("uuid", sa.String(64), nullable=False, server_default=""),
        sa.Column("message_key", sa.String(80), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("msgtype", sa.Integer()),
        sa.Column("conversation", sa.String(64), nullable=False, server_default=""),
        sa.Column("is_room", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("sender", sa.String(64), nullable=False, server_default=""),
        sa.Column("receiver", sa.String(64), nullable=False, server_default=""),
        sa.Column("content", LONG_TEXT),
        sa.Column("msg_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("server_id", sa.BigInteger()),
        sa.Column("send_time", sa.DateTime()),
        sa.Column("received_at", PRECISE_TIME, nullable=False),
        sa.Column("is_sync", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("at_list", PAYLOAD),
        sa.Column("media", PAYLOAD),
        sa.Column("payload", PAYLOAD),
        **MYSQL_TABLE,
    )
    op.create_index("uq_messages_account_key", "messages", ["account", "message_key"], unique=True)
    op.create_index("idx_messages_account_id", "messages", ["account", "id"])
    op.create_index("idx_messages_account_conversation_id", "messages", ["account", "conversation", "id"])

    op.create_table(
        "deliveries",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.String(255), nullable=False, server_default=""),
        sa.Column("next_attempt_at", PRECISE_TIME, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=False, server_default=""),
        sa.Column("delivered_at", PRECISE_TIME),
        sa.Column("created_at", PRECISE_TIME, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("uq_deliveries_message_target", "deliveries", ["message_id", "target"], unique=True)
    op.create_index("idx_deliveries_claim", "deliveries", ["target", "status", "next_attempt_at"])

    op.create_table(
        "account_cursors",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("last_server_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", PRECISE_TIME, nullable=False),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("account_cursors")
    op.drop_table("deliveries")
    op.drop_table("messages")
