"""Address reuse quarantine: freed addresses, the agents they wait for, recent unbindings

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# As every timestamp since 0002: microseconds on MySQL/MariaDB too.
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "ipquarantine",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("freed_at", TIMESTAMP, nullable=False),
        sa.Column("freed_revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["subnet_id"], ["subnets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subnet_id", "ip_address"),
    )
    op.create_index("ix_ipquarantine_freed_at", "ipquarantine", ["freed_at"])
    op.create_index("ix_ipquarantine_network_id", "ipquarantine", ["network_id"])

    op.create_table(
        "ipquarantinewaits",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("dhcp_agent_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("freed_revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["dhcp_agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subnet_id", "ip_address"],
                                ["ipquarantine.subnet_id", "ipquarantine.ip_address"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subnet_id", "ip_address", "dhcp_agent_id"),
    )
    op.create_index("ix_ipquarantinewaits_agent_network", "ipquarantinewaits",
                    ["dhcp_agent_id", "network_id"])

    op.create_table(
        "dhcpunbindings",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("dhcp_agent_id", sa.String(length=36), nullable=False),
        sa.Column("unbound_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["dhcp_agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "dhcp_agent_id"),
    )
    op.create_index("ix_dhcpunbindings_unbound_at", "dhcpunbindings", ["unbound_at"])

    with op.batch_alter_table("networkdhcpagentbindings") as batch_op:
        batch_op.add_column(sa.Column("applied_revision", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("networkdhcpagentbindings") as batch_op:
        batch_op.drop_column("applied_revision")
    op.drop_table("dhcpunbindings")
    op.drop_table("ipquarantinewaits")
    op.drop_table("ipquarantine")
