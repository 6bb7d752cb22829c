"""Make-before-break moves: a binding's revision at creation, moves in progress

Revision ID: 0009
Revises: 0010 (relinked after main merged 0010, which also came from 0008)
Create Date: 2026-12-01 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("networkdhcpagentbindings") as batch_op:
        batch_op.add_column(sa.Column("bound_revision", sa.BigInteger(), nullable=True))
    op.create_table(
        "networkmoves",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("from_agent_id", sa.String(length=36), nullable=False),
        sa.Column("to_agent_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["from_agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "from_agent_id"),
    )
    op.create_index("ix_networkmoves_from_agent_id", "networkmoves", ["from_agent_id"])
    op.create_index("ix_networkmoves_to_agent_id", "networkmoves", ["to_agent_id"])


def downgrade() -> None:
    # Its indexes go with it (MariaDB refuses to drop one a foreign key uses first).
    op.drop_table("networkmoves")
    with op.batch_alter_table("networkdhcpagentbindings") as batch_op:
        batch_op.drop_column("bound_revision")
