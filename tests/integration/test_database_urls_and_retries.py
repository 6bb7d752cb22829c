"""Every database URL form the seed and operators use, bounded retries of transient
errors (deadlocks, lost connections) on the real engines, and an unreachable database as
one domain error."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from neutrino.db import migrate
from neutrino.db.session import CONNECT_TIMEOUT, Database
from neutrino.errors import DatabaseUnavailable
from tests.support.databases import fresh_database
from tests.support.relay import cuttable_relay

REPO = Path(__file__).resolve().parents[2]

# (engine to create, how the config file spells the URL)
URL_FORMS = [
    ("mariadb", lambda url: url.replace("mysql+pymysql://", "mysql://")),  # the seed's form
    ("mariadb", lambda url: url),  # mysql+pymysql://
    ("postgresql", lambda url: url),  # postgresql://
]


@pytest.mark.parametrize(("kind", "spell"), URL_FORMS,
                         ids=["mysql", "mysql+pymysql", "postgresql"])
def test_manage_db_upgrade_brings_every_url_form_to_the_current_schema(
        kind: str, spell: object, tmp_path: Path) -> None:
    with fresh_database(kind, str(tmp_path)) as url:
        spelled = spell(url)  # type: ignore[operator]
        conf = tmp_path / "neutron.conf"
        conf.write_text(f"[database]\nconnection = {spelled}\n")
        for _ in range(2):  # a second upgrade finds nothing to do
            done = subprocess.run([sys.executable, "-m", "neutrino.manage", "--config-file",
                                   str(conf), "db", "upgrade"], cwd=REPO, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        db = Database(url)
        try:
            migrate.check_current(db.engine, url)
        finally:
            db.dispose()


def _two_rows(db: Database) -> None:
    def create(session: Session) -> None:
        session.execute(text("CREATE TABLE retry_probe (id INTEGER PRIMARY KEY, v INTEGER)"))
        session.execute(text("INSERT INTO retry_probe (id, v) VALUES (1, 0), (2, 0)"))

    db.run(create)


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_deadlocked_transaction_is_retried_and_succeeds(kind: str, tmp_path: Path) -> None:
    with fresh_database(kind, str(tmp_path)) as url:
        db = Database(url, max_retries=3, retry_interval=0.01)
        try:
            _two_rows(db)
            both_hold_one = threading.Barrier(2, timeout=10)
            attempts = {"a": 0, "b": 0}

            def crossing(name: str, first: int, second: int) -> None:
                def work(session: Session) -> None:
                    attempts[name] += 1
                    lock = "UPDATE retry_probe SET v = v + 1 WHERE id = :id"
                    session.execute(text(lock), {"id": first})
                    if attempts[name] == 1:
                        both_hold_one.wait()  # each holds the row the other wants next
                    session.execute(text(lock), {"id": second})

                db.run(work)

            threads = [threading.Thread(target=crossing, args=("a", 1, 2)),
                       threading.Thread(target=crossing, args=("b", 2, 1))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert sorted(attempts.values()) == [1, 2]  # the deadlock victim ran again
            with db.session() as session:
                values = session.execute(text("SELECT v FROM retry_probe ORDER BY id")).all()
            assert [v for (v,) in values] == [2, 2]  # and both transactions took effect
        finally:
            db.dispose()


def test_a_lost_connection_is_retried_on_a_fresh_one(tmp_path: Path) -> None:
    with fresh_database("postgresql", str(tmp_path)) as url:
        db = Database(url, max_retries=2, retry_interval=0.01)
        try:
            _two_rows(db)
            attempts = 0

            def work(session: Session) -> int:
                nonlocal attempts
                attempts += 1
                if attempts == 1:  # the server drops us mid-transaction
                    session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
                return int(session.execute(text("SELECT count(*) FROM retry_probe")).scalar_one())

            assert db.run(work) == 2 and attempts == 2
        finally:
            db.dispose()


def test_retries_are_bounded(tmp_path: Path) -> None:
    with fresh_database("postgresql", str(tmp_path)) as url:
        db = Database(url, max_retries=2, retry_interval=0.001)
        try:
            attempts = 0

            def always_drops(session: Session) -> None:
                nonlocal attempts
                attempts += 1
                session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

            with pytest.raises(DatabaseUnavailable) as raised:
                db.run(always_drops)
            assert attempts == 3 and "terminat" in raised.value.reason.lower()
        finally:
            db.dispose()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_an_unreachable_database_is_one_domain_error_at_once_and_watchers_hear_of_it(
        kind: str, tmp_path: Path) -> None:
    with fresh_database(kind, str(tmp_path)) as url:
        parsed = make_url(url)
        with cuttable_relay((parsed.host or "127.0.0.1", parsed.port or 0)) as relay:
            db = Database(parsed.set(port=relay.port).render_as_string(hide_password=False),
                          retry_interval=0.01)
            heard: list[bool] = []
            db.watch_reachability(heard.append)
            try:
                db.ping()
                relay.cut()
                for way_in in (db.ping, lambda: db.run(lambda s: s.execute(text("SELECT 1")))):
                    started = time.monotonic()
                    with pytest.raises(DatabaseUnavailable):
                        way_in()
                    # Refused: no retry, no connect timeout to wait out.
                    assert time.monotonic() - started < CONNECT_TIMEOUT
                assert not db.reachable and heard == [False]
                relay.restore()
                db.ping()
                assert db.reachable and heard == [False, True]
            finally:
                db.dispose()


def test_transient_errors_are_retried_only_within_the_budget(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/budget.db", max_retries=1000, retry_interval=0.01,
                  retry_budget=0.5)
    attempts = 0

    def always_locked(_session: Session) -> None:
        nonlocal attempts
        attempts += 1
        raise OperationalError("UPDATE agents", {}, sqlite3.OperationalError(
            "database is locked"))

    started = time.monotonic()
    with pytest.raises(OperationalError):
        db.run(always_locked)
    took = time.monotonic() - started
    db.dispose()
    assert 1 < attempts < 1000 and took < 0.5 + 0.1, (attempts, took)
