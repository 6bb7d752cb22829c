"""Tells this process's listeners which events each transaction wrote, once it commits.

The one commit hook of the agent protocol, for both drivers: the HTTP driver wakes its
long-polls, the RabbitMQ driver casts the events to the agents. Events that other server
replicas commit reach neither; agents read those from the event log (the HTTP long-poll
polls it, RabbitMQ agents fetch it after every gap and periodically).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from neutrino.agent_protocol.messages import Event
from neutrino.db.session import Database
from neutrino.services import events

T = TypeVar("T")


class AfterCommit(Generic[T]):
    """Listeners hear what a transaction noted in its session (taken by `take`) once the
    outermost transaction commits; a rollback drops it. Services/binding_changes.py uses the
    same hook for its counts."""

    def __init__(self, db: Database, take: Callable[[Session], T]) -> None:
        self._db = db
        self._take = take
        self._lock = threading.Lock()
        # Replaced, never mutated: commit hooks on other threads read it without the lock.
        self._listeners: tuple[Callable[[T], None], ...] = ()

    def subscribe(self, listener: Callable[[T], None]) -> None:
        with self._lock:
            if not self._listeners:  # no hook while nobody listens: commits cost nothing
                self._db.listen("after_commit", self._committed)
                self._db.listen("after_rollback", self._rolled_back)
            self._listeners += (listener,)

    def unsubscribe(self, listener: Callable[[T], None]) -> None:
        with self._lock:
            # != not "is not": a bound method is a new object at every attribute access.
            self._listeners = tuple(x for x in self._listeners if x != listener)
            if not self._listeners:
                self._db.unlisten("after_commit", self._committed)
                self._db.unlisten("after_rollback", self._rolled_back)

    # SQLAlchemy fires both hooks for savepoints too (begin_nested: ports and segments
    # retry clashing inserts in one); only the outermost transaction's end says anything.
    def _committed(self, session: Session) -> None:
        if session.in_nested_transaction():
            return
        noted = self._take(session)
        if noted:
            for listener in self._listeners:
                listener(noted)

    def _rolled_back(self, session: Session) -> None:
        if not session.in_nested_transaction():
            self._take(session)  # nothing of it happened


class CommittedEvents(AfterCommit[list[Event]]):
    """Subscribe listeners; each hears the events of every commit that wrote some."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, events.take_written)
