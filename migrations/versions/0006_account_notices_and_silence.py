"""Ban and restriction notices recorded on the account, and when an online account went silent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PRECISE_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("notice_kind", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("notice_text", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("notice_at", PRECISE_TIME, nullable=True))
        batch.add_column(sa.Column("notice_detail", sa.Text(), nullable=True))
        batch.add_column(sa.Column("silent_since", PRECISE_TIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        for column in ("silent_since", "notice_detail", "notice_at", "notice_text", "notice_kind"):
            batch.drop_column(column)
