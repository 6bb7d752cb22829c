"""Network <-> DHCP agent binding changes by reason, heard once their transaction commits.

A transaction notes each change it makes (`note(session, "failover")`); listeners (the
server's metrics) hear the reasons and counts only when the outermost transaction commits,
so a transaction retried after a deadlock, or rolled back, counts nothing twice or at all.
The reasons are a fixed set so that a metric labelled by them stays bounded.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy.orm import Session

from neutrino.db.session import Database

# scheduled: placed automatically (a network that needs DHCP, an agent that came up);
# added/removed: dhcp-agent-network-add/-remove; failover: moved off a dead agent;
# drain/rebalance: moved by those operations.
REASONS = ("scheduled", "added", "removed", "failover", "drain", "rebalance")
_KEY = "neutrino.binding_changes"

Listener = Callable[[str, int], None]


def note(session: Session, reason: str, count: int = 1) -> None:
    """Count `count` binding changes for `reason` when `session`'s transaction commits."""
    if reason not in REASONS:
        raise ValueError(f"binding change reason {reason!r} is not one of {REASONS}")
    if count > 0:
        session.info.setdefault(_KEY, Counter())[reason] += count


class BindingChanges:
    """Subscribe listeners; each hears (reason, count) of every commit that noted some."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._listeners: tuple[Listener, ...] = ()  # replaced, never mutated

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            if not self._listeners:
                self._db.listen("after_commit", self._committed)
                self._db.listen("after_rollback", self._rolled_back)
            self._listeners += (listener,)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = tuple(x for x in self._listeners if x != listener)
            if not self._listeners:
                self._db.unlisten("after_commit", self._committed)
                self._db.unlisten("after_rollback", self._rolled_back)

    # Savepoints fire both hooks too; only the outermost transaction's end counts.
    def _committed(self, session: Session) -> None:
        if session.in_nested_transaction():
            return
        changes: Counter[str] = session.info.pop(_KEY, Counter())
        for reason, count in changes.items():
            for listener in self._listeners:
                listener(reason, count)

    def _rolled_back(self, session: Session) -> None:
        if not session.in_nested_transaction():
            session.info.pop(_KEY, None)
