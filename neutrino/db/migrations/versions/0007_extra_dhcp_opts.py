"""Per-port DHCP options (extra_dhcp_opt extension)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Exact comparison of names on MySQL/MariaDB too, as db/models.py says.
OPT_NAME = sa.String(64).with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql",
                                      "mariadb")


def upgrade() -> None:
    op.create_table(
        "extradhcpopts",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("opt_name", OPT_NAME, nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("opt_value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("port_id", "opt_name", "ip_version"),
    )


def downgrade() -> None:
    op.drop_table("extradhcpopts")
