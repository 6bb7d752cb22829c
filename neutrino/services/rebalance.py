"""Rebalance: read agents and bindings, plan with scheduler/rebalance.py, request the moves.

The plan is computed from one consistent read of the database; the moves themselves are
make-before-break and asynchronous (services/moves.py keeps the old agent serving until
the new one reports readiness), so carrying out a plan means requesting its moves, and
progress is read back from the pending moves. A binding that a pending move is taking
away counts as gone already: a rebalance asked again while one is under way plans only
what is left to do.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import NetworkDhcpAgentBinding, NetworkMove, Port, Subnet
from neutrino.db.session import Database
from neutrino.scheduler.placement import AgentSnapshot
from neutrino.scheduler.rebalance import (
    PlannedMove,
    RebalanceInput,
    loads,
    loads_after,
    plan_rebalance,
)
from neutrino.scheduler.zones import in_zones
from neutrino.services import binding_changes
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow
from neutrino.services.moves import MOVE_BATCH, MoveInfo, MoveRequest, Moves

LOG = logging.getLogger(__name__)


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
    # Moves of the plan that could not be requested (network gone, target died meanwhile):
    # network id -> why. They are left as they are; a new rebalance plans them again.
    skipped: dict[str, str] = field(default_factory=dict)


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
                 moves: Moves) -> None:
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
        for network_id, agent_id in session.execute(select(NetworkMove.network_id,
                                                           NetworkMove.from_agent_id)):
            grouped.get(network_id, set()).discard(agent_id)  # on its way out already
        network_ids = sorted(grouped)
        reach = self.bindings.reach(session, now, agents, network_ids)
        allowed = {} if reach is None else {n: frozenset(a) for n, a in reach.items()}
        # Zone hints (else default_availability_zones) narrow a network's targets further.
        everyone = frozenset(a.id for a in agents)
        for network_id, zones in self.bindings.zones(session, network_ids).items():
            if zones is not None:
                allowed[network_id] = allowed.get(network_id, everyone) & frozenset(
                    a.id for a in agents if in_zones(a.availability_zone, zones))
        load_type = self.settings.dhcp_load_type
        return RebalanceInput(
            agents=agents, bindings={n: frozenset(a) for n, a in grouped.items()},
            weights=network_weights(session, load_type, network_ids),
            allowed=allowed if reach is not None or allowed else None,
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
        plan = self.plan()
        for start in range(0, len(plan.moves), MOVE_BATCH):
            batch = plan.moves[start:start + MOVE_BATCH]

            def work(session: Session, batch: list[PlannedMove] = batch) -> dict[str, str]:
                return self._request(session, batch)
            skipped = self.db.run(work)
            plan.skipped.update(skipped)
            for move in batch:
                if move.network_id in skipped:
                    LOG.info("rebalance: network %s stays on DHCP agent %s: %s",
                             move.network_id, move.from_agent, skipped[move.network_id])
                else:
                    LOG.info("rebalance: network %s from DHCP agent on %s to %s (%s)",
                             move.network_id, plan.hosts[move.from_agent],
                             plan.hosts[move.to_agent], move.reason)
        return plan

    def _request(self, session: Session, batch: Sequence[PlannedMove]) -> dict[str, str]:
        """Request a batch of moves in one transaction; returns those skipped, and why."""
        # request_many locks the networks in id order, as every batch of binding changes
        # does, and checks each move as a single request would: a move the world has
        # overtaken (its target died, the network was moved meanwhile) is skipped with
        # nothing of it written, and waits for the next rebalance.
        results = self.moves.request_many(session, [
            MoveRequest(m.network_id, m.from_agent, m.to_agent, f"rebalance: {m.reason}")
            for m in batch], utcnow())
        skipped = {m.network_id: str(r) for m, r in zip(batch, results, strict=True)
                   if not isinstance(r, MoveInfo)}
        binding_changes.note(session, "rebalance", len(batch) - len(skipped))
        return skipped

    def pending_moves(self) -> list[dict[str, object]]:
        """Every move still waiting for its target (this rebalance's, drains', others')."""
        return [m.view() for m in self.moves.pending()]

    def agent_joined(self, agent_id: str, host: str) -> None:
        """[DEFAULT] dhcp_rebalance_on_agent_join: rebalance, off the caller's thread."""
        if not self.settings.dhcp_rebalance_on_agent_join:
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
