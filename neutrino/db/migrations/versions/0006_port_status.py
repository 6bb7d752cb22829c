"""Port status from wiring: the host that wired a port, the revision its addresses were written at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ports") as batch_op:
        batch_op.add_column(sa.Column("wired_host", sa.String(length=255), nullable=False,
                                      server_default=""))
        # 0 for ports written before this: every confirmed revision covers them.
        batch_op.add_column(sa.Column("dhcp_revision", sa.BigInteger(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ports") as batch_op:
        batch_op.drop_column("dhcp_revision")
        batch_op.drop_column("wired_host")
