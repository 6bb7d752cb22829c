"""Networks' availability_zone_hints

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("networks") as batch_op:
        # Comma-joined zone names, 255 characters in all, as Neutron stores them.
        batch_op.add_column(sa.Column("availability_zone_hints", sa.String(255),
                                      nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("networks") as batch_op:
        batch_op.drop_column("availability_zone_hints")
