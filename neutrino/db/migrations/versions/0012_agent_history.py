"""Agent history: binding and agent state changes for operators; agents.history_dead

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None

# As every timestamp since 0002: microseconds on MySQL/MariaDB too.
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "agent_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=True),
        sa.Column("agent_id", sa.String(length=36), nullable=True),
        sa.Column("from_agent_id", sa.String(length=36), nullable=True),
        sa.Column("to_agent_id", sa.String(length=36), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_history_created_at", "agent_history", ["created_at"])
    for column in ("network_id", "agent_id", "from_agent_id", "to_agent_id", "kind"):
        op.create_index(f"ix_agent_history_{column}", "agent_history", [column, "id"])
    with op.batch_alter_table("agents") as batch_op:
        batch_op.add_column(sa.Column("history_dead", sa.Boolean(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch_op:
        batch_op.drop_column("history_dead")
    op.drop_table("agent_history")
