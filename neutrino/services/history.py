"""The agent history: what happened to bindings and agents, when, by whom and why.

Operators read it (`GET /v2.0/agent-history`, `neutrino event-list`); nothing consumes it.
It is not the revision-numbered notification log of services/events.py that agents follow.
A row is written by note() in the same transaction as the change it records, so the
history holds a change exactly when the database does. Agent deaths and revivals are
changes of nobody's making: watch_liveness() notices them (scheduler/liveness.py) and
claims each one with a conditional UPDATE of agents.history_dead, so however many workers
and replicas watch, one of them notes it, once. A revival is noted at once by the state
report that brings it (services/agents.py, under the agent's row lock); the look catches
one acknowledged from memory (services/heartbeats.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import Agent, AgentHistory
from neutrino.db.session import Database
from neutrino.errors import InvalidInput, shown
from neutrino.scheduler.liveness import (
    ALIVE_AGAIN,
    DEAD,
    alive_cutoff,
    history_dead_cutoff,
    history_transition,
    silence,
)
from neutrino.services.clock import isoformat, utcnow

LOG = logging.getLogger(__name__)

# Binding changes: the network, and the agent it left (from) and/or reached (to).
SCHEDULED = "scheduled"      # the scheduler bound a network that needed DHCP
ADDED = "added"              # dhcp-agent-network-add
REMOVED = "removed"          # dhcp-agent-network-remove, or the agent was deleted
FAILOVER = "failover"        # moved off a dead agent
DRAIN = "drain"              # moved off an agent being drained
REBALANCE = "rebalance"      # moved to even out the load
MOVE = "move"                # any other make-before-break move an operator asked for
STUCK = "stuck"              # a move's target not ready within dhcp_move_timeout (retried
                             # on to_agent's successor, or reported; the source serves on)
BINDING_KINDS = (SCHEDULED, ADDED, REMOVED, FAILOVER, DRAIN, REBALANCE, MOVE, STUCK)
# Agent state changes: the agent and its host.
REGISTERED = "registered"
DISABLED = "disabled"
ENABLED = "enabled"
DELETED = "deleted"
AGENT_KINDS = (REGISTERED, DEAD, ALIVE_AGAIN, DISABLED, ENABLED, DELETED)
KINDS = BINDING_KINDS + AGENT_KINDS

REASON_LEN = 255
# A page holds at most this many rows, asked for or not: the history may hold many more.
PAGE_MAX = 1000
TABLE: Table = AgentHistory.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Actor:
    """Who made a change: a user (name and id), or the server itself (id None)."""

    name: str
    id: str | None = None


SERVER = Actor("server")


def note(session: Session, kind: str, *, actor: Actor = SERVER, reason: str = "",
         network_id: str | None = None, agent_id: str | None = None,
         from_agent: str | None = None, to_agent: str | None = None,
         host: str | None = None, now: datetime | None = None) -> None:
    """Record one change in the transaction of `session`, the one that makes the change."""
    if kind not in KINDS:
        raise ValueError(f"unknown agent history kind {kind!r}; known: {', '.join(KINDS)}")
    session.add(AgentHistory(
        created_at=now or utcnow(), kind=kind, actor=actor.name[:255], actor_id=actor.id,
        reason=reason[:REASON_LEN], network_id=network_id, agent_id=agent_id,
        from_agent_id=from_agent, to_agent_id=to_agent, host=host))


def view(row: Row[Any] | AgentHistory) -> dict[str, Any]:
    """One history entry as the API shows it."""
    return {"id": row.id, "created_at": isoformat(row.created_at), "kind": row.kind,
            "actor": row.actor, "actor_id": row.actor_id, "reason": row.reason,
            "network_id": row.network_id, "agent_id": row.agent_id,
            "from_agent_id": row.from_agent_id, "to_agent_id": row.to_agent_id,
            "host": row.host}


FIELDS = ("id", "created_at", "kind", "actor", "actor_id", "reason", "network_id",
          "agent_id", "from_agent_id", "to_agent_id", "host")


@dataclass(frozen=True)
class HistoryQuery:
    """What a reader asks for; every filter is ANDed, values of one filter ORed."""

    network_ids: tuple[str, ...] = ()
    agent_ids: tuple[str, ...] = ()  # the agent itself, or either end of a binding change
    kinds: tuple[str, ...] = ()
    since: datetime | None = None    # at or after, server time (naive UTC)
    limit: int = PAGE_MAX
    marker: int | None = None        # the id of the last entry of the previous page

    def check(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown:
            raise InvalidInput(f"kind {shown(unknown[0])} is not an agent history kind; use "
                               f"one of {', '.join(KINDS)}.")


def conditions(query: HistoryQuery) -> list[Any]:
    where: list[Any] = []
    if query.network_ids:
        where.append(TABLE.c.network_id.in_(query.network_ids))
    if query.agent_ids:
        ids = list(query.agent_ids)
        where.append(or_(TABLE.c.agent_id.in_(ids), TABLE.c.from_agent_id.in_(ids),
                         TABLE.c.to_agent_id.in_(ids)))
    if query.kinds:
        where.append(TABLE.c.kind.in_(query.kinds))
    if query.since is not None:
        where.append(TABLE.c.created_at >= query.since)
    if query.marker is not None:
        where.append(TABLE.c.id < query.marker)
    return where


def retention_cutoff(now: datetime, retention_days: int) -> datetime | None:
    """Entries older than this go; None when the age does not bound the history (0 days)."""
    return now - timedelta(days=retention_days) if retention_days > 0 else None


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


class History:
    """Reads, liveness notes and retention of the agent history of one server process."""

    def __init__(self, db: Database, settings: ServerSettings,
                 hearing_since: Callable[[], datetime | None]) -> None:
        self.db = db
        self.settings = settings
        self.hearing_since = hearing_since

    def read(self, query: HistoryQuery) -> tuple[list[dict[str, Any]], bool]:
        """One page of entries, newest first, and whether older ones follow it."""
        query.check()
        limit = max(1, min(query.limit, PAGE_MAX))
        with self.db.connect() as conn:
            rows = conn.execute(select(TABLE).where(*conditions(query))
                                .order_by(TABLE.c.id.desc()).limit(limit + 1)).all()
        return [view(r) for r in rows[:limit]], len(rows) > limit

    # ---- liveness ---------------------------------------------------------------------------

    def watch_liveness(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Note agents that died or came back since the last look; returns (agent, kind)."""
        now = now or utcnow()
        down = self.settings.agent_down_time
        hearing = self.hearing_since()
        dead_cutoff = history_dead_cutoff(now, hearing, down)
        agents: Table = Agent.__table__  # type: ignore[assignment]
        c = agents.c
        # Back among the living; and, while the server has heard long enough, newly dead.
        changed = [and_(c.history_dead.is_(True), c.heartbeat_timestamp >= alive_cutoff(now, down))]
        if dead_cutoff is not None:
            changed.append(and_(c.history_dead.is_(False), c.heartbeat_timestamp < dead_cutoff))
        # A read first: nearly always nobody changed, and that needs no write transaction.
        with self.db.connect() as conn:
            rows = conn.execute(select(c.id, c.heartbeat_timestamp, c.history_dead)
                                .where(or_(*changed)).order_by(c.id)).all()
        if not rows:
            return []

        def work(session: Session) -> list[tuple[str, str, str]]:
            noted = []
            for agent_id, heartbeat, was_dead in rows:  # in id order, as heartbeat flushes
                kind = history_transition(heartbeat, was_dead, now, hearing, down)
                if kind is None:
                    continue
                still = (c.heartbeat_timestamp >= alive_cutoff(now, down)) if was_dead else \
                    (c.heartbeat_timestamp < dead_cutoff)
                # The claim: only one transaction flips the flag; the others update nothing.
                claimed = session.execute(
                    update(agents).where(c.id == agent_id, c.history_dead.is_(was_dead), still)
                    .values(history_dead=not was_dead)).rowcount  # type: ignore[attr-defined]
                if claimed != 1:
                    continue
                agent = session.get(Agent, agent_id)
                assert agent is not None
                reason = (f"silent for {silence(heartbeat, now):.0f} s (agent_down_time "
                          f"{down} s)" if kind == DEAD else "reporting again")
                note(session, kind, reason=reason, agent_id=agent_id, host=agent.host, now=now)
                noted.append((agent_id, kind, f"{agent.agent_type} on {agent.host}: {reason}"))
            return noted

        noted = self.db.run(work)
        for agent_id, kind, what in noted:
            # One process claims each transition, so each is logged once; a revival is
            # logged by the report that brought it (services/agents.py).
            if kind == DEAD:
                LOG.warning("agent %s is dead (%s)", agent_id, what)
            else:
                LOG.debug("agent %s noted alive again (%s)", agent_id, what)
        return [(agent_id, kind) for agent_id, kind, _ in noted]

    # ---- retention --------------------------------------------------------------------------

    def prune(self, now: datetime | None = None) -> int:
        """Delete what [DEFAULT] event_history_retention_days and _max_rows let go."""
        now = now or utcnow()
        cutoff = retention_cutoff(now, self.settings.event_history_retention_days)
        max_rows = self.settings.event_history_max_rows

        def work(session: Session) -> int:
            removed = 0
            if cutoff is not None:  # a range of the created_at index
                removed += _rowcount(session.execute(delete(TABLE)
                                                     .where(TABLE.c.created_at < cutoff)))
            if max_rows > 0:
                # Ids only grow (gaps make this keep fewer, never more): a primary key range.
                newest = session.scalar(select(func.max(TABLE.c.id)))
                if newest is not None and newest > max_rows:
                    removed += _rowcount(session.execute(
                        delete(TABLE).where(TABLE.c.id <= newest - max_rows)))
            return removed

        removed = self.db.run(work)
        if removed:
            LOG.info("agent history: %d entr%s past retention deleted", removed,
                     "y" if removed == 1 else "ies")
        return removed
