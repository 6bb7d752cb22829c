"""Schema migrations with Alembic, driven from code (no alembic.ini to find).

Alembic (with Mako and Pygments, which it imports) costs a server process about 11 MiB
(bench/worker_memory.py), so it is imported only when a migration runs or is written: a
server whose schema is current reads the recorded revision with one SELECT and compares it
with HEAD.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
# The newest revision in migrations/versions; tests/unit/test_migrate_head.py checks that it
# is the one Alembic finds there, so a new migration that forgets this line fails the tests.
HEAD = "0017"
# Where Alembic records the revision a database is at (its default table and column).
VERSION_TABLE = "alembic_version"


class SchemaNotCurrent(Exception):
    """The database schema is missing or older than this code."""


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def scripts_head() -> str:
    """The head revision Alembic finds among the migration scripts."""
    from alembic.script import ScriptDirectory

    head_rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert head_rev is not None
    return head_rev


def current(engine: Engine) -> str | None:
    """The revision the database is at; None for a database with no Neutrino schema."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        # One row on a linear history (Alembic keeps one per head).
        found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        return None if found is None else str(found)


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and current(engine) == HEAD:
        return  # nothing to run, and no Alembic to load
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def autogenerate(engine: Engine, message: str) -> None:
    """Developer tool: write a new revision from the models' difference to the database."""
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)


def check_current(engine: Engine, url_for_message: str) -> None:
    found = current(engine)
    if found != HEAD:
        state = "has no Neutrino schema" if found is None else f"is at revision {found}"
        raise SchemaNotCurrent(
            f"The database {url_for_message} {state}; this server needs revision {HEAD}. "
            "Run: neutrino-manage --config-file <your neutron.conf> db upgrade")
