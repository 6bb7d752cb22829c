"""Network <-> DHCP agent binding changes by reason, heard once their transaction commits.

A transaction notes each change it makes (`note(session, "failover")`); listeners (the
server's metrics) hear the counts by reason only when the outermost transaction commits,
so a transaction retried after a deadlock, or rolled back, counts nothing twice or at all.
The reasons are a fixed set so that a metric labelled by them stays bounded.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from neutrino.db.session import Database
from neutrino.services.committed_events import AfterCommit

# scheduled: placed automatically (a network that needs DHCP, an agent that came up);
# added/removed: dhcp-agent-network-add/-remove; failover: moved off a dead agent;
# drain/rebalance: moved by those operations.
REASONS = ("scheduled", "added", "removed", "failover", "drain", "rebalance")
_KEY = "neutrino.binding_changes"


def note(session: Session, reason: str, count: int = 1) -> None:
    """Count `count` binding changes for `reason` when `session`'s transaction commits."""
    if reason not in REASONS:
        raise ValueError(f"binding change reason {reason!r} is not one of {REASONS}")
    if count > 0:
        session.info.setdefault(_KEY, Counter())[reason] += count


def _take(session: Session) -> Counter[str]:
    taken: Counter[str] = session.info.pop(_KEY, Counter())
    return taken


class BindingChanges(AfterCommit[Counter[str]]):
    """Subscribe listeners; each hears the counts by reason of every commit that noted
    some (one hook for this and the event log: services/committed_events.py)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, _take)
