"""Real databases for tests: a fresh, uniquely named database per use, dropped afterwards."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.support.needs import unreachable
from tests.support.service_lock import services_shared

PG_ADMIN = os.environ.get("NEUTRINO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("NEUTRINO_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/")
ENGINES = ("sqlite", "postgresql", "mariadb")


@contextmanager
def fresh_database(kind: str, tmp_dir: str) -> Iterator[str]:
    """Yield the URL of a new empty database of `kind`; drop it afterwards."""
    name = "neutrino_t_" + uuid.uuid4().hex[:10]
    if kind == "sqlite":
        yield f"sqlite:///{os.path.join(tmp_dir, name)}.db"
        return
    if kind == "mariadb":
        # Another process's outage test stops MariaDB: not while this database is in use.
        with services_shared(), _server_database(MYSQL_ADMIN, kind, name) as url:
            yield url
        return
    with _server_database(PG_ADMIN, kind, name) as url:
        yield url


@contextmanager
def _server_database(admin_url: str, kind: str, name: str) -> Iterator[str]:
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError as exc:
        unreachable(kind, exc)
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
