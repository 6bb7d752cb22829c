"""The schema check a server makes without Alembic agrees with Alembic."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from neutrino.db import migrate
from neutrino.db.session import Database


def test_head_is_the_newest_migration_script() -> None:
    assert migrate.HEAD == migrate.scripts_head()


def test_a_database_without_schema_is_at_no_revision(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/empty.db")
    assert migrate.current(db.engine) is None
    with pytest.raises(migrate.SchemaNotCurrent, match="has no Neutrino schema"):
        migrate.check_current(db.engine, "empty.db")
    db.dispose()


def test_upgraded_database_is_current_and_an_older_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == migrate.HEAD
    migrate.check_current(db.engine, "m.db")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0012'")
    assert migrate.current(db.engine) == "0012"
    with pytest.raises(migrate.SchemaNotCurrent, match="is at revision 0012"):
        migrate.check_current(db.engine, "m.db")
    db.dispose()
