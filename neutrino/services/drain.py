"""Drain a DHCP agent: disable it for new networks, move each of its networks away
make-before-break (services/moves.py), and say how far it got.

A drain is no state of its own: the agent's admin_state_up is False, and its networks are
in moves or still bound. So a drain interrupted (the CLI stopped, the server restarted) is
resumed by asking again, and `status` is what the bindings and moves say now. A network no
live agent can take (none reaches its segment) stays on the agent and is reported as
unmovable; nothing is ever dropped for want of a target.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import NetworkDhcpAgentBinding, NetworkMove
from neutrino.db.session import Database
from neutrino.errors import Conflict, NotFound
from neutrino.scheduler.moves import PlannedMove, plan_drain
from neutrino.services import binding_changes, fleet_snapshot
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow
from neutrino.services.moves import MOVE_BATCH, MoveInfo, MoveRequest, Moves
from neutrino.services.networks import load_network, lock_networks

LOG = logging.getLogger(__name__)
CHUNK = 500


@dataclass
class DrainReport:
    agent_id: str
    host: str
    admin_state_up: bool
    hosting: int  # networks still bound to the agent (moving ones included)
    moving: list[MoveInfo]
    unmovable: list[str]  # hosted, not moving, and no agent can take them now
    planned: list[PlannedMove] = field(default_factory=list)  # started (or, dry run, would)
    dry_run: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id, "host": self.host,
            "admin_state_up": self.admin_state_up, "dry_run": self.dry_run,
            "networks": self.hosting,
            "moving": [{"network_id": m.network_id, "to_agent_id": m.to_agent_id,
                        "reason": m.reason, "stuck": m.stuck_since is not None}
                       for m in self.moving],
            # Moves whose target has not become ready within dhcp_move_timeout and that no
            # other agent can take: the agent serves these networks until one is ready.
            "stuck": sum(1 for m in self.moving if m.stuck_since is not None),
            "unmovable": list(self.unmovable),
            "planned": [{"network_id": p.network_id, "to_agent_id": p.to_agent,
                         "action": "drop" if p.drop else "move" if p.to_agent else "stay"}
                        for p in self.planned],
            "done": self.hosting == 0,
        }


class Drains:
    def __init__(self, db: Database, settings: ServerSettings, bindings: Bindings,
                 moves: Moves, rng: random.Random) -> None:
        self.db = db
        self.settings = settings
        self.bindings = bindings
        self.moves = moves
        self.rng = rng

    def _plan(self, session: Session, agent_id: str, now: datetime) -> list[PlannedMove]:
        """Moves for the agent's networks that are not moving yet."""
        mine = set(session.scalars(select(NetworkDhcpAgentBinding.network_id).where(
            NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)))
        mine -= set(session.scalars(select(NetworkMove.network_id).where(
            NetworkMove.from_agent_id == agent_id)))
        ids = sorted(mine)
        hosting: dict[str, set[str]] = {n: set() for n in ids}
        for start in range(0, len(ids), CHUNK):
            for network_id, host_id in session.execute(
                    select(NetworkDhcpAgentBinding.network_id,
                           NetworkDhcpAgentBinding.dhcp_agent_id)
                    .where(NetworkDhcpAgentBinding.network_id.in_(ids[start:start + CHUNK]))):
                hosting[network_id].add(host_id)
        candidates = self.bindings.snapshots(session, now)
        reach = self.bindings.reach(session, now, candidates, ids) if ids else None
        zones = self.bindings.zones(session, ids) if ids else None
        return plan_drain(agent_id, hosting, candidates,
                          self.settings.dhcp_agents_per_network, reach, self.rng, zones)

    def status(self, agent_id: str) -> DrainReport:
        """How the agent's drain stands (also for an agent never drained)."""
        with self.db.session() as session:
            agent = self.bindings._dhcp_agent(session, agent_id)
            plan = self._plan(session, agent_id, utcnow())
            hosting = len(self.bindings.networks_hosted_by(session, agent_id))
            host, up = agent.host, agent.admin_state_up
        return DrainReport(agent_id, host, up, hosting, self.moves.pending(agent_id),
                           [p.network_id for p in plan if p.to_agent is None and not p.drop])

    def start(self, agent_id: str, dry_run: bool = False, limit: int | None = None
              ) -> DrainReport:
        """Disable the agent and start moving up to `limit` (None: all) of its networks not
        moving yet; a dry run only plans. Returns at once: the moves finish on their own."""
        if dry_run:
            with self.db.session() as session:
                self.bindings._dhcp_agent(session, agent_id)
                plan = self._plan(session, agent_id, utcnow())
            report = self.status(agent_id)
            report.planned, report.dry_run = plan, True
            return report

        def disable(session: Session) -> list[PlannedMove]:
            agent = self.bindings._dhcp_agent(session, agent_id)
            if agent.admin_state_up:
                agent.admin_state_up = False
                fleet_snapshot.note_change(session)  # every process's copy, at once
                LOG.info("DHCP agent %s on %s disabled for a drain", agent_id, agent.host)
            return self._plan(session, agent_id, utcnow())

        plan = self.db.run(disable)
        todo = [p for p in plan if p.to_agent is not None or p.drop][:limit]
        started: list[PlannedMove] = []
        # One transaction per MOVE_BATCH networks (plan_drain's network id order, which is
        # also the order request_many locks them in), not one per network.
        for start in range(0, len(todo), MOVE_BATCH):
            batch = todo[start:start + MOVE_BATCH]

            def work(session: Session, batch: list[PlannedMove] = batch
                     ) -> list[PlannedMove]:
                return self._start_batch(session, batch)
            started += self.db.run(work)  # an error rolls the whole batch back
        report = self.status(agent_id)
        report.planned = started
        LOG.info("drain of DHCP agent %s: %d moves started, %d networks still hosted, %d "
                 "unmovable", agent_id, len(started), report.hosting, len(report.unmovable))
        return report

    def _start_batch(self, session: Session, batch: Sequence[PlannedMove]
                     ) -> list[PlannedMove]:
        """Start a batch of the plan's moves in one transaction; returns those started."""
        now = utcnow()
        lock_networks(session, (m.network_id for m in batch))  # all of them, in id order
        moving = [m for m in batch if not m.drop]
        results = self.moves.request_many(session, [
            MoveRequest(m.network_id, m.from_agent, m.to_agent, "drain", reach_checked=True)
            for m in moving], now)
        started = [m for m, r in zip(moving, results, strict=True) if isinstance(r, MoveInfo)]
        binding_changes.note(session, "drain", len(started))
        for move, result in zip(moving, results, strict=True):
            if not isinstance(result, MoveInfo):
                # Changed since the plan (the target died or took it, the binding or the
                # network went): the next pass plans this network again.
                LOG.info("drain: network %s not moved now: %s", move.network_id, result)
        for move in (m for m in batch if m.drop):
            # The other agents host it dhcp_agents_per_network times already: a removal,
            # which still waits when it would take the last ready binding.
            try:
                net = load_network(session, move.network_id, lock=True)
                agent = self.bindings._dhcp_agent(session, move.from_agent)
                self.moves.remove_in(session, net, agent, "drain")
            except (Conflict, NotFound) as exc:
                LOG.info("drain: network %s not moved now: %s", move.network_id, exc)
                continue
            started.append(move)
        return started
