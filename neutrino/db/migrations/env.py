"""Alembic environment: the engine comes from neutrino.db.migrate, never from an ini file."""
from __future__ import annotations

from alembic import context

from neutrino.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `neutrino-manage db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
