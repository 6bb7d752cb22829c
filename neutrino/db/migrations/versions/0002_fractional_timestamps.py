"""MySQL/MariaDB timestamps keep microseconds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Every timestamp column; on MySQL/MariaDB a plain DATETIME rounds to whole seconds, which
# makes `alive` and the failover deadline up to a second wrong.
COLUMNS = {
    "agents": ("created_at", "started_at", "heartbeat_timestamp"),
    "events": ("created_at",),
    "networks": ("created_at", "updated_at"),
    "subnets": ("created_at", "updated_at"),
    "ports": ("created_at", "updated_at"),
    "networkdhcpagentbindings": ("created_at",),
    "signing_keys": ("created_at",),
}


def _retype(new: sa.types.TypeEngine, old: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return  # SQLite and PostgreSQL already keep microseconds
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=new, existing_type=old,
                            existing_nullable=False)


def upgrade() -> None:
    _retype(mysql.DATETIME(fsp=6), sa.DateTime())


def downgrade() -> None:
    _retype(sa.DateTime(), mysql.DATETIME(fsp=6))
