"""Tells this process's listeners which events each transaction wrote, once it commits.

The one commit hook of the agent protocol, for both drivers: the HTTP driver wakes its
long-polls, the RabbitMQ driver casts the events to the agents. Events that other server
replicas commit reach neither; agents read those from the event log (the HTTP long-poll
polls it, RabbitMQ agents fetch it after every gap and periodically).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from neutrino.agent_protocol.messages import Event
from neutrino.db.session import Database
from neutrino.services import events

Listener = Callable[[list[Event]], None]


class CommittedEvents:
    """Subscribe listeners; each hears the events of every commit that wrote some."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        # Replaced, never mutated: commit hooks on other threads read it without the lock.
        self._listeners: tuple[Listener, ...] = ()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            if not self._listeners:  # no hook while nobody listens: commits cost nothing
                self._db.listen("after_commit", self._committed)
                self._db.listen("after_rollback", self._rolled_back)
            self._listeners += (listener,)

    def unsubscribe(self, listener: Listener) -> None:
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
        written = events.take_written(session)
        if written:
            for listener in self._listeners:
                listener(written)

    def _rolled_back(self, session: Session) -> None:
        if not session.in_nested_transaction():
            events.take_written(session)  # nothing of it happened
