"""Engines, sessions and transactions, with bounded retries of transient errors.

Every way into the database (run, session, connect) turns "the database cannot be reached"
into one domain error, DatabaseUnavailable, within a bounded time (docs/operations.md):
  - connecting gives up after CONNECT_TIMEOUT;
  - a statement on a connection whose peer went silent gives up after IO_TIMEOUT
    (PyMySQL read/write timeouts; TCP user timeout and keepalives for PostgreSQL);
  - run() starts no new attempt once RETRY_BUDGET has passed since it began, and a refused
    connection is not retried at all: the caller gets its answer (a 503) at once;
  - waiting for a free pooled connection gives up after POOL_TIMEOUT.
Observers registered with watch_reachability() hear when the database becomes unreachable
and when it answers again.
"""
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
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from neutrino.db import pymysql_decoders
from neutrino.errors import DatabaseUnavailable

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# MySQL: 1213 deadlock, 1205 lock wait timeout, 2006/2013 lost connection.
# PostgreSQL: 40001 serialization failure, 40P01 deadlock.
_TRANSIENT_MYSQL = {1213, 1205, 2006, 2013}
_TRANSIENT_PG = {"40001", "40P01"}
# The database is not there: MySQL 1040 too many connections, 2002/2003 cannot connect,
# 2005 unknown host, 2006/2013 gone or lost (also a read timeout), 2055 lost at handshake.
# PostgreSQL: class 08 (connection exception), 53300 too many connections, 57P01-57P03
# shutting down or starting up; libpq's own connection failures carry no SQLSTATE.
_UNREACHABLE_MYSQL = {1040, 2002, 2003, 2005, 2006, 2013, 2055}
_UNREACHABLE_PG = {"53300", "57P01", "57P02", "57P03"}
_UNREACHABLE_SQLITE = ("unable to open database file", "disk I/O error")

# The bounds; docs/operations.md derives the longest a request can wait from them.
CONNECT_TIMEOUT = 2  # seconds; libpq accepts no less than 2
IO_TIMEOUT = 10  # seconds a statement may wait on a peer that went silent
RETRY_BUDGET = 5.0  # seconds after which run() starts no new attempt
POOL_TIMEOUT = 5  # seconds to wait for a free pooled connection
PING_AFTER_IDLE = 1.0  # seconds a pooled connection may sit unused before it is checked


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


def is_unreachable(exc: BaseException) -> bool:
    """The error says the database cannot be reached (not that the statement was wrong)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    module = type(orig).__module__
    if module.startswith("psycopg"):
        code = getattr(orig, "sqlstate", None)
        return code is None or code.startswith("08") or code in _UNREACHABLE_PG
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _UNREACHABLE_MYSQL
    return any(text in str(orig) for text in _UNREACHABLE_SQLITE)


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    # The driver's text names hosts and ports: it goes to the log (the cause), not to callers.
    reason = f"no pooled connection became free within {POOL_TIMEOUT} s" \
        if isinstance(exc, PoolTimeout) else str(getattr(exc, "orig", exc)).splitlines()[0]
    return DatabaseUnavailable(reason)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _bounded_connect_args(url: str, io_timeout: float | None) -> dict[str, Any]:
    """Driver arguments: timeouts that bound connecting and silent peers, and PyMySQL's
    faster decoders (db/pymysql_decoders.py); the URL's own settings win."""
    parsed = make_url(url)
    driver = parsed.get_driver_name()
    args: dict[str, Any] = {}
    if driver in ("psycopg", "psycopg2"):  # libpq's parameters
        args = {"connect_timeout": CONNECT_TIMEOUT, "keepalives": 1, "keepalives_idle": 5,
                "keepalives_interval": 2, "keepalives_count": 3}
        if io_timeout:
            # Linux closes a connection whose sent data (or keepalive probe) stays unacked;
            # a statement that runs long on a live server is not affected.
            args["tcp_user_timeout"] = int(io_timeout * 1000)
    elif driver in ("pymysql", "mysqldb"):
        args = {"connect_timeout": CONNECT_TIMEOUT}
        if io_timeout:
            args.update(read_timeout=io_timeout, write_timeout=io_timeout)
        if driver == "pymysql":
            args["conv"] = pymysql_decoders.conversions()
    return {k: v for k, v in args.items() if k not in parsed.query}


def make_engine(url: str, io_timeout: float | None = IO_TIMEOUT,
                ping_after_idle: float = PING_AFTER_IDLE) -> Engine:
    """`io_timeout`: None for tools whose statements may rightly run long (migrations)."""
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
    kwargs: dict[str, Any] = {"pool_size": 10, "max_overflow": 20,
                              "pool_timeout": POOL_TIMEOUT,
                              "connect_args": _bounded_connect_args(url, io_timeout),
                              "json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith(("mysql", "mariadb")):
        kwargs["isolation_level"] = "READ COMMITTED"
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, after: float) -> None:
    """Check a pooled connection with one round trip before use only when it sat idle for
    `after` seconds or more, and replace the pool's connections when that check finds the
    peer gone.

    SQLAlchemy's pool_pre_ping would add that round trip to every request, a tenth of a
    millisecond on a quiet loopback and several on a busy database. A connection used a
    moment ago is as good as a fresh check: should the database have gone since, the
    statement fails as a lost connection, which invalidates the pool and which run()
    retries, as it would have with the check.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # A new connection (its info is cleared when the pool replaces it) is not checked.
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                # The pool reconnects this one and replaces all older connections.
                raise InvalidatePoolError(str(exc)) from exc
            raise


Reachability = Callable[[bool], None]


class Database:
    """The one handle on the database that services receive."""

    def __init__(self, url: str, *, max_retries: int = 10, retry_interval: float = 0.05,
                 retry_budget: float = RETRY_BUDGET,
                 io_timeout: float | None = IO_TIMEOUT,
                 ping_after_idle: float = PING_AFTER_IDLE) -> None:
        self.url = url
        self.engine = make_engine(url, io_timeout, ping_after_idle)
        self.is_sqlite = url.startswith("sqlite")
        self._readers = sessionmaker(expire_on_commit=False,
                                     join_transaction_mode="rollback_only")
        writer = self.engine.execution_options(sqlite_immediate=True)
        self._writers = sessionmaker(writer, expire_on_commit=False)
        # SQLite has one writer; threads queueing on a Python lock wake at once, where
        # SQLite's busy handler would sleep them for milliseconds at a time.
        self._write_lock = threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        self.max_retries = max_retries
        self.retry_interval = retry_interval
        self.retry_budget = retry_budget
        self._reachable = True
        self._watchers: list[Reachability] = []
        self._watch_lock = threading.Lock()

    def listen(self, name: str, hook: Callable[..., Any]) -> None:
        """Hook a session event (after_commit, …) of this database's writing sessions only."""
        event.listen(self._writers, name, hook)

    def unlisten(self, name: str, hook: Callable[..., Any]) -> None:
        event.remove(self._writers, name, hook)

    # ---- reachability -----------------------------------------------------------------------

    def watch_reachability(self, watcher: Reachability) -> None:
        """Call `watcher(False)` when the database stops answering, `watcher(True)` when it
        answers again (from the thread that found out)."""
        with self._watch_lock:
            self._watchers.append(watcher)

    def unwatch_reachability(self, watcher: Reachability) -> None:
        with self._watch_lock:
            self._watchers.remove(watcher)

    @property
    def reachable(self) -> bool:
        """False from a failure to reach the database until it next answers."""
        return self._reachable

    def _answered(self) -> None:
        if not self._reachable:  # unlocked read: the hot path stays one attribute load
            self._note(True)

    def _unreachable(self, exc: BaseException) -> DatabaseUnavailable:
        self._note(False)
        return _unavailable(exc)

    def _note(self, reachable: bool) -> None:
        with self._watch_lock:
            if self._reachable == reachable:
                return
            self._reachable = reachable
            watchers = list(self._watchers)
        for watcher in watchers:
            watcher(reachable)

    # ---- ways in ----------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reads; no commit."""
        try:
            # The session joins a transaction that the connection owns: ending it once
            # then returns the connection to the pool, where a session of its own would
            # roll back and the pool would roll back again (one more round trip per read).
            with self.engine.connect() as conn:
                conn.begin()
                with self._readers(bind=conn) as session:
                    yield session
        except (DBAPIError, PoolTimeout) as exc:
            if is_unreachable(exc):
                raise self._unreachable(exc) from exc
            raise
        self._answered()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain connection for hot reads that need no ORM objects; no commit."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except (DBAPIError, PoolTimeout) as exc:
            if is_unreachable(exc):
                raise self._unreachable(exc) from exc
            raise
        self._answered()

    def probe(self) -> None:
        """Open and close one connection, the driver's error as it comes: for start-up
        waits, which retry on their own terms (server.py wait_for_database)."""
        with self.engine.connect():
            pass

    def ping(self) -> None:
        """One round trip; DatabaseUnavailable while the database cannot be reached."""
        with self.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction, retrying it whole on deadlocks and lost connections.

        Gives up with DatabaseUnavailable when the database cannot be reached: at once when
        it refuses connections, else when retries or RETRY_BUDGET run out.
        """
        attempt = 0
        deadline = time.monotonic() + self.retry_budget
        while True:
            try:
                with self._write_lock, self._writers() as session, session.begin():
                    result = work(session)
                self._answered()
                return result
            except (DBAPIError, PoolTimeout) as exc:
                attempt += 1
                pause = self.retry_interval * attempt
                retry = is_transient(exc) and attempt <= self.max_retries and \
                    time.monotonic() + pause < deadline
                if not retry:
                    if is_unreachable(exc):
                        raise self._unreachable(exc) from exc
                    raise
                # Once the database is known to be away, retries are expected: the
                # reachability watchers have said so once already.
                LOG.log(logging.WARNING if self._reachable else logging.DEBUG,
                        "transient database error (attempt %d of %d), retrying: %s",
                        attempt, self.max_retries, getattr(exc, "orig", exc))
                time.sleep(pause)

    def dispose(self) -> None:
        self.engine.dispose()
