"""The proxy an instance was created with, kept sealed on its session for the monitor's reconnects.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("proxy_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("sessions", "proxy_sealed")
