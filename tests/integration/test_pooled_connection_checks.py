"""Pooled connections on the real servers: one checked only after it sat idle, a dead one
replaced before use, and read sessions that end with one round trip."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection

from neutrino.db.session import Database
from tests.support.databases import MYSQL_ADMIN, PG_ADMIN, fresh_database

KINDS = ["postgresql", "mariadb"]
BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mariadb": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mariadb": "KILL {}"}


def _kill(kind: str, backend: int) -> None:
    """End one server connection from outside, as a database restart or timeout would."""
    admin = create_engine(PG_ADMIN if kind == "postgresql" else MYSQL_ADMIN,
                          isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(KILL[kind].format(int(backend))))
    finally:
        admin.dispose()


def _backend(db: Database, kind: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(text(BACKEND_ID[kind])).scalar_one())


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(kind, str(tmp_path)) as url:
        yield url


def _statements(db: Database) -> list[str]:
    seen: list[str] = []

    def note(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    return seen


def test_an_idle_pooled_connection_that_died_is_replaced_before_use(kind: str, url: str
                                                                     ) -> None:
    db = Database(url, ping_after_idle=0)  # every reuse counts as idle: always checked
    try:
        dead = _backend(db, kind)
        _kill(kind, dead)
        # The check finds the peer gone and the pool reconnects: the read never sees it.
        assert _backend(db, kind) != dead
    finally:
        db.dispose()


def test_a_connection_used_a_moment_ago_is_not_checked_and_writes_survive_its_loss(
        kind: str, url: str) -> None:
    db = Database(url, ping_after_idle=3600, retry_interval=0.01)
    try:
        dead = _backend(db, kind)
        _kill(kind, dead)
        # No check: the transaction meets the lost connection and run() retries it whole.
        assert db.run(lambda s: int(s.execute(text(BACKEND_ID[kind])).scalar_one())) != dead
    finally:
        db.dispose()


def test_a_read_session_ends_with_one_rollback(kind: str, url: str) -> None:
    db = Database(url)
    try:
        with db.session() as session:
            session.execute(text("SELECT 1")).all()
        # Rollbacks are not cursor statements: count the connection's and the pool's own
        # (the pool rolls back unless the connection says it already did).
        resets: list[str] = []

        def pool_reset(_dbapi: Any, _record: Any, state: Any) -> None:
            if not state.transaction_was_reset:
                resets.append("pool")

        event.listen(db.engine, "rollback", lambda _conn: resets.append("connection"))
        event.listen(db.engine, "reset", pool_reset)
        seen = _statements(db)
        with db.session() as session:
            session.execute(text("SELECT 1")).all()
        assert seen == ["SELECT 1"]
        assert resets == ["connection"]  # the pool does not roll back a second time
    finally:
        db.dispose()
