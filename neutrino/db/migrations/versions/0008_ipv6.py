"""IPv6 subnet modes: ipv6_ra_mode and ipv6_address_mode

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subnets") as batch_op:
        batch_op.add_column(sa.Column("ipv6_ra_mode", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("ipv6_address_mode", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subnets") as batch_op:
        batch_op.drop_column("ipv6_address_mode")
        batch_op.drop_column("ipv6_ra_mode")
