"""Schema migrations with Alembic, driven from code (no alembic.ini to find)."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


class SchemaNotCurrent(Exception):
    """The database schema is missing or older than this code."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def head() -> str:
    head_rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert head_rev is not None
    return head_rev


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def autogenerate(engine: Engine, message: str) -> None:
    """Developer tool: write a new revision from the models' difference to the database."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)


def check_current(engine: Engine, url_for_message: str) -> None:
    found = current(engine)
    if found != head():
        state = "has no Neutrino schema" if found is None else f"is at revision {found}"
        raise SchemaNotCurrent(
            f"The database {url_for_message} {state}; this server needs revision {head()}. "
            "Run: neutrino-manage --config-file <your neutron.conf> db upgrade")
