"""The one commit hook both agent drivers hear (services/committed_events.py), on every
database: events are told once, after the outermost commit, never for a rollback."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.agent_protocol.messages import Event
from neutrino.db import migrate
from neutrino.db.models import Event as EventRow
from neutrino.db.session import Database
from neutrino.services import events
from neutrino.services.committed_events import CommittedEvents


@pytest.fixture(scope="module")
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


class Heard:
    """A listener that also checks, when called, that the events are visible to others."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.batches: list[list[Event]] = []
        self.visible: list[bool] = []

    def __call__(self, written: list[Event]) -> None:
        self.batches.append(written)
        ids = [e.revision for e in written]
        with self.db.session() as session:  # another connection: only committed rows show
            found = set(session.scalars(select(EventRow.id).where(EventRow.id.in_(ids))))
        self.visible.append(found == set(ids))


@pytest.fixture
def heard(db: Database) -> Iterator[Heard]:
    committed = CommittedEvents(db)
    listener = Heard(db)
    committed.subscribe(listener)
    yield listener
    committed.unsubscribe(listener)


def _savepoint_clash(session: Session) -> None:
    """A savepoint that rolls back, as ports.py's MAC retry does on a clash."""
    row = session.scalars(select(EventRow).limit(1)).one()
    try:
        with session.begin_nested():
            session.execute(insert(EventRow).values(
                id=row.id, event="dup", resource="port", resource_id="x",
                created_at=row.created_at))
    except IntegrityError:
        pass


def test_events_are_told_once_after_the_outermost_commit(db: Database, heard: Heard) -> None:
    def work(session: Session) -> None:
        events.record(session, "port.create", "port", "p1", "n1")
        with session.begin_nested():  # released savepoint: SQLAlchemy fires after_commit
            session.flush()
        _savepoint_clash(session)  # rolled back savepoint: SQLAlchemy fires after_rollback
        events.record(session, "port.update", "port", "p1", "n1", host="HostA")

    db.run(work)
    assert len(heard.batches) == 1
    (batch,) = heard.batches
    assert [(e.event, e.host) for e in batch] == [("port.create", None), ("port.update", "HostA")]
    assert batch[0].revision < batch[1].revision
    assert heard.visible == [True]


def test_an_event_in_a_rolled_back_savepoint_is_not_told(db: Database, heard: Heard) -> None:
    def work(session: Session) -> None:
        events.record(session, "network.update", "network", "n1", "n1")
        try:
            with session.begin_nested():
                events.record(session, "port.create", "port", "gone", "n1")
                session.flush()
                raise IntegrityError("clash", None, Exception("clash"))
        except IntegrityError:
            pass

    db.run(work)
    assert [[e.resource_id for e in b] for b in heard.batches] == [["n1"]]


def test_a_transaction_that_fails_tells_nothing(db: Database, heard: Heard) -> None:
    def work(session: Session) -> None:
        events.record(session, "port.delete", "port", "p2", "n1")
        session.flush()
        raise LookupError("the service gave up")

    with pytest.raises(LookupError):
        db.run(work)
    db.run(lambda session: None)  # the next commit of the process says nothing of it
    assert heard.batches == []


def test_an_unsubscribed_listener_hears_nothing(db: Database) -> None:
    committed = CommittedEvents(db)
    listener = Heard(db)
    committed.subscribe(listener)
    committed.unsubscribe(listener)
    db.run(lambda session: events.record(session, "port.create", "port", "p3", "n1"))
    assert listener.batches == []
