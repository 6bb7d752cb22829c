"""Engines, sessions and transactions, with bounded retries of transient errors."""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# MySQL: 1213 deadlock, 1205 lock wait timeout, 2006/2013 lost connection.
# PostgreSQL: 40001 serialization failure, 40P01 deadlock.
_TRANSIENT_MYSQL = {1213, 1205, 2006, 2013}
_TRANSIENT_PG = {"40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    # psycopg 3 names the SQLSTATE `sqlstate`; psycopg2 called it `pgcode`.
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _TRANSIENT_PG:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _TRANSIENT_MYSQL:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=_json_text, json_deserializer=orjson.loads)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the single writer; foreign keys make cascades real.
            # pysqlite's own transaction handling would send a plain BEGIN before ours.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the lock up front (BEGIN IMMEDIATE): no lock upgrade, no deadlock.
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20,
                              "json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith(("mysql", "mariadb")):
        kwargs["isolation_level"] = "READ COMMITTED"
    return create_engine(url, **kwargs)


class Database:
    """The one handle on the database that services receive."""

    def __init__(self, url: str, *, max_retries: int = 10, retry_interval: float = 0.05) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True)
        self._writers = sessionmaker(writer, expire_on_commit=False)
        # SQLite has one writer; threads queueing on a Python lock wake at once, where
        # SQLite's busy handler would sleep them for milliseconds at a time.
        self._write_lock = threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        self.max_retries = max_retries
        self.retry_interval = retry_interval

    def listen(self, name: str, hook: Callable[..., Any]) -> None:
        """Hook a session event (after_commit, …) of this database's writing sessions only."""
        event.listen(self._writers, name, hook)

    def unlisten(self, name: str, hook: Callable[..., Any]) -> None:
        event.remove(self._writers, name, hook)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reads; no commit."""
        with self._sessions() as session:
            yield session

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction, retrying it whole on deadlocks and lost connections."""
        attempt = 0
        while True:
            try:
                with self._write_lock, self._writers() as session, session.begin():
                    return work(session)
            except DBAPIError as exc:
                attempt += 1
                if not is_transient(exc) or attempt > self.max_retries:
                    raise
                LOG.warning("transient database error (attempt %d of %d), retrying: %s",
                            attempt, self.max_retries, exc.orig)
                time.sleep(self.retry_interval * attempt)

    def dispose(self) -> None:
        self.engine.dispose()
