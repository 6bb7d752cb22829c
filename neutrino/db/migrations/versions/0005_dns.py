"""Port dns_name and network dns_domain (the dns-integration extension)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows have none: '' (Neutron's default), filled in by the server default.
    with op.batch_alter_table("ports") as batch:
        batch.add_column(sa.Column("dns_name", sa.String(length=255), nullable=False,
                                   server_default=""))
    with op.batch_alter_table("networks") as batch:
        batch.add_column(sa.Column("dns_domain", sa.String(length=255), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.drop_column("dns_domain")
    with op.batch_alter_table("ports") as batch:
        batch.drop_column("dns_name")
