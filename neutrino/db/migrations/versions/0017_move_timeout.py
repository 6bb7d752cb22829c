"""networkmoves: since when the current target loads, and since when the move is stuck

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-01 19:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("networkmoves") as batch_op:
        # NULL (moves requested before this column): the target has loaded since the request.
        batch_op.add_column(sa.Column("target_since", TIMESTAMP, nullable=True))
        batch_op.add_column(sa.Column("stuck_since", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("networkmoves") as batch_op:
        batch_op.drop_column("stuck_since")
        batch_op.drop_column("target_since")
