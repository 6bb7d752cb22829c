"""Rebalance: read agents and bindings, plan with scheduler/rebalance.py, request the moves.

The plan is computed from one consistent read of the database; the moves themselves are
make-before-break and asynchronous (the move primitive keeps the old agent serving until
the new one reports readiness), so carrying out a plan means requesting its moves, and
progress is read back as "has the old agent let go of the network yet".
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import NetworkDhcpAgentBinding, Port, Subnet
from neutrino.db.session import Database
from neutrino.errors import RebalanceUnavailable
from neutrino.scheduler.placement import AgentSnapshot
from neutrino.scheduler.rebalance import (
    PlannedMove,
    RebalanceInput,
    loads,
    loads_after,
    plan_rebalance,
)
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow

LOG = logging.getLogger(__name__)


class MoveRequests(Protocol):
    """What rebalance needs of the move primitive (services/moves.py)."""

    def request(self, network_id: str, from_agent_id: str, to_agent_id: str,
                reason: str) -> None:
        """Persist a make-before-break move; it completes on its own."""
        ...


@dataclass(frozen=True)
class AgentLoad:
    agent_id: str
    host: str
    availability_zone: str | None
    before: int
    after: int


@dataclass(frozen=True)
class Plan:
    load_type: str
    moves: list[PlannedMove]
    agents: list[AgentLoad]
    hosts: dict[str, str]  # agent id -> host, for the moves' display


def network_weights(session: Session, load_type: str, network_ids: Sequence[str]
                    ) -> dict[str, int]:
    """Per network, what it adds to an agent's load under `dhcp_load_type`."""
    if load_type == "subnets":
        query = (select(Subnet.network_id, func.count()).where(Subnet.enable_dhcp.is_(True))
                 .group_by(Subnet.network_id))
    elif load_type == "ports":
        query = select(Port.network_id, func.count()).group_by(Port.network_id)
    else:
        return {}  # networks: 1 each, the planner's default
    counted = {nid: int(n) for nid, n in session.execute(query)}
    return {nid: counted.get(nid, 0) for nid in network_ids}


class Rebalancer:
    def __init__(self, db: Database, settings: ServerSettings, bindings: Bindings,
                 moves: MoveRequests | None) -> None:
        self.db = db
        self.settings = settings
        self.bindings = bindings
        self.moves = moves
        self._auto = threading.Lock()  # one automatic rebalance at a time in this process

    def read(self, session: Session, now: datetime) -> RebalanceInput:
        """The planner's input as the database holds it now."""
        agents: list[AgentSnapshot] = self.bindings.snapshots(session, now)
        grouped: dict[str, set[str]] = {}
        for network_id, agent_id in session.execute(select(
                NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id)):
            grouped.setdefault(network_id, set()).add(agent_id)
        network_ids = sorted(grouped)
        reach = self.bindings.reach(session, now, agents, network_ids)
        allowed = None if reach is None else {n: frozenset(a) for n, a in reach.items()}
        load_type = self.settings.dhcp_load_type
        return RebalanceInput(
            agents=agents, bindings={n: frozenset(a) for n, a in grouped.items()},
            weights=network_weights(session, load_type, network_ids), allowed=allowed,
            dhcp_agents_per_network=self.settings.dhcp_agents_per_network,
            load_type=load_type)

    def plan(self) -> Plan:
        """What a rebalance would do now, changing nothing."""
        with self.db.session() as session:
            data = self.read(session, utcnow())
        moves = plan_rebalance(data)
        before, after = loads(data), loads_after(data, moves)
        agents = sorted((a for a in data.agents if a.id in before), key=lambda a: a.host)
        return Plan(data.load_type, moves,
                    [AgentLoad(a.id, a.host, a.availability_zone, before[a.id], after[a.id])
                     for a in agents],
                    {a.id: a.host for a in data.agents})

    def run(self) -> Plan:
        """Plan and request every move of the plan (make-before-break, asynchronous)."""
        if self.moves is None:
            raise RebalanceUnavailable(
                "This server cannot carry out a rebalance: make-before-break moves are not "
                "available. Use the dry run to see the plan.")
        plan = self.plan()
        for move in plan.moves:
            self.moves.request(move.network_id, move.from_agent, move.to_agent,
                               f"rebalance: {move.reason}")
            LOG.info("rebalance: network %s from DHCP agent on %s to %s (%s)",
                     move.network_id, plan.hosts[move.from_agent], plan.hosts[move.to_agent],
                     move.reason)
        return plan

    def pending(self, moves: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Of these (network, old agent) pairs, those whose old agent still hosts the network."""
        if not moves:
            return []
        wanted = set(moves)
        networks = sorted({n for n, _ in wanted})
        with self.db.session() as session:
            rows = set(session.execute(select(
                NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id)
                .where(NetworkDhcpAgentBinding.network_id.in_(networks))).tuples())
        return [m for m in moves if m in rows]

    def agent_joined(self, agent_id: str, host: str) -> None:
        """[DEFAULT] dhcp_rebalance_on_agent_join: rebalance, off the caller's thread."""
        if not self.settings.dhcp_rebalance_on_agent_join or self.moves is None:
            return
        thread = threading.Thread(target=self._auto_run, args=(agent_id, host),
                                  name="dhcp-rebalance", daemon=True)
        thread.start()

    def _auto_run(self, agent_id: str, host: str) -> None:
        if not self._auto.acquire(blocking=False):
            # One is already under way; a plan made now would count its moves twice.
            LOG.info("rebalance after DHCP agent %s on %s joined: one is already running",
                     agent_id, host)
            return
        try:
            plan = self.run()
            LOG.info("rebalance after DHCP agent %s on %s joined: %d move(s) requested",
                     agent_id, host, len(plan.moves))
        except Exception:  # noqa: BLE001 - a background job logs and ends; the next join retries
            LOG.exception("rebalance after DHCP agent %s on %s joined failed", agent_id, host)
        finally:
            self._auto.release()
