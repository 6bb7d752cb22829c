"""Network <-> DHCP agent bindings: scheduling, manual changes and failover."""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from neutrino import zone_hints
from neutrino.config import ServerSettings
from neutrino.db.models import (
    Agent,
    Network,
    NetworkDhcpAgentBinding,
    NetworkMove,
    NetworkSegment,
    Port,
    Subnet,
)
from neutrino.db.session import Database
from neutrino.errors import (
    AgentDisabled,
    AgentNotDhcp,
    AgentNotFound,
    NetworkAlreadyHosted,
    NetworkNotFound,
    NetworkNotHosted,
    SegmentUnreachable,
)
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE, DEVICE_OWNER_DHCP
from neutrino.port_status import DhcpCopy
from neutrino.scheduler.liveness import (
    failover_cutoff,
    is_alive,
    judged_dead,
    judged_dead_after,
    silence,
)
from neutrino.scheduler.placement import AgentSnapshot, Move, choose_agents, plan_failover
from neutrino.scheduler.reach import (
    L2Reach,
    SegmentView,
    filter_applies,
    reach_from,
    reachable_agents,
)
from neutrino.scheduler.zones import allowed_zones
from neutrino.services import binding_changes, events, history, quarantine, statuses
from neutrino.services.availability_zones import hosting_zones
from neutrino.services.clock import utcnow
from neutrino.services.fleet_snapshot import FleetSnapshot
from neutrino.services.history import SERVER, Actor
from neutrino.services.networks import bump, load_network
from neutrino.services.views import network_view

LOG = logging.getLogger(__name__)

# Failover moves per transaction: few transactions for a host's hundreds of networks, each
# short enough not to hold the network locks against API calls for long.
FAILOVER_BATCH = 100
# Seconds after a verdict's moment that the failover loop wakes (it is a strict ">").
DUE_MARGIN = 0.01


def _already_hosted(network_id: str, agent_id: str) -> NetworkAlreadyHosted:
    return NetworkAlreadyHosted(f"The network {network_id} has been already hosted by the "
                                f"DHCP agent {agent_id}.")


def short(ids: Sequence[str]) -> str:
    return ", ".join(i[:8] + "…" for i in ids)


def _with_hosts(chosen: Sequence[str], candidates: Sequence[AgentSnapshot]
                ) -> list[tuple[str, str]]:
    hosts = {a.id: a.host for a in candidates}
    return [(agent_id, hosts[agent_id]) for agent_id in chosen]


class Bindings:
    def __init__(self, db: Database, settings: ServerSettings, rng: random.Random,
                 hearing_since: Callable[[], datetime | None],
                 fleet: FleetSnapshot | None = None) -> None:
        self.db = db
        self.settings = settings
        self.rng = rng
        # Since when this process has heard agents without a break (services/hearing.py).
        self.hearing_since = hearing_since
        # This process's copy of the agents (services/fleet_snapshot.py): scheduling and
        # add-network read it instead of every agent row. None: read the rows.
        self.fleet = fleet if settings.dhcp_load_type == "networks" else None

    # ---- snapshots ------------------------------------------------------------------------

    def snapshots(self, session: Session, now: datetime) -> list[AgentSnapshot]:
        """Every DHCP agent as the scheduler sees it: plain rows, no ORM objects."""
        load_type = self.settings.dhcp_load_type
        counts: dict[str, int] = {}
        if load_type == "networks":
            counts = {agent_id: int(n) for agent_id, n in session.execute(
                select(NetworkDhcpAgentBinding.dhcp_agent_id, func.count())
                .group_by(NetworkDhcpAgentBinding.dhcp_agent_id))}
        # Subnets and ports come from what the agent last reported, as in Neutron.
        conf = Agent.configurations if load_type != "networks" else None
        rows = session.execute(select(
            Agent.id, Agent.host, Agent.heartbeat_timestamp, Agent.admin_state_up,
            Agent.availability_zone, *([conf] if conf is not None else []))
            .where(Agent.agent_type == AGENT_TYPE_DHCP))
        down = self.settings.agent_down_time
        snapshots = []
        for row in rows:
            load = counts.get(row[0], 0) if conf is None else \
                int((row[5] or {}).get(load_type, 0) or 0)
            snapshots.append(AgentSnapshot(row[0], row[1], is_alive(row[2], now, down), row[3],
                                           load, row[4]))
        return snapshots

    def reach(self, session: Session, now: datetime, candidates: Sequence[AgentSnapshot],
              network_ids: Sequence[str]) -> dict[str, set[str]] | None:
        """Per network, the DHCP agents whose host can reach its segment; None when the
        filter does not apply ([DEFAULT] dhcp_schedule_require_l2_reach). Two queries
        whatever the number of agents and networks."""
        rows = session.execute(select(Agent.host, Agent.heartbeat_timestamp,
                                      Agent.configurations)
                               .where(Agent.agent_type == AGENT_TYPE_LINUXBRIDGE)).all()
        if not filter_applies(self.settings.dhcp_schedule_require_l2_reach, len(rows)):
            return None
        down = self.settings.agent_down_time
        live: list[L2Reach] = [reach_from(host, conf) for host, beat, conf in rows
                               if is_alive(beat, now, down)]
        segments = {nid: SegmentView(kind, physnet) for nid, kind, physnet in session.execute(
            select(NetworkSegment.network_id, NetworkSegment.network_type,
                   NetworkSegment.physical_network)
            .where(NetworkSegment.network_id.in_(list(network_ids))))}
        return {nid: reachable_agents(candidates, live, segments.get(nid))
                for nid in network_ids}

    def zones(self, session: Session, network_ids: Sequence[str]
              ) -> dict[str, frozenset[str] | None]:
        """Per network, the availability zones its agents may be in (scheduler/zones.py)."""
        return {nid: self._allowed_zones(hints) for nid, hints in session.execute(
                    select(Network.id, Network.availability_zone_hints)
                    .where(Network.id.in_(list(network_ids))))}

    def _allowed_zones(self, hints: str) -> frozenset[str] | None:
        return allowed_zones(zone_hints.split(hints), self.settings.default_availability_zones)

    def hosting(self, session: Session, network_id: str) -> list[str]:
        return list(session.scalars(select(NetworkDhcpAgentBinding.dhcp_agent_id)
                                    .where(NetworkDhcpAgentBinding.network_id == network_id)))

    def networks_hosted_by(self, session: Session, agent_id: str) -> list[str]:
        return list(session.scalars(select(NetworkDhcpAgentBinding.network_id)
                                    .where(NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)))

    # ---- automatic scheduling ---------------------------------------------------------------

    def schedule(self, session: Session, net: Network,
                 reason: str = "network needs DHCP") -> list[str]:
        """Bind a network (whose row the caller has locked) up to dhcp_agents_per_network."""
        if not self.settings.network_auto_schedule:
            return []
        network_id = net.id
        now = utcnow()
        copies = statuses.copies_of(session, network_id)
        hosting = [c.agent_id for c in copies]
        if len(hosting) >= self.settings.dhcp_agents_per_network:
            return []
        chosen = self._choose(session, now, net, hosting)
        how = self.settings.network_scheduler_driver.replace("_", " ")
        for agent_id, host in chosen:
            self._bind(session, network_id, agent_id, now, net=net, host=host)
            history.note(session, history.SCHEDULED, reason=f"{reason} ({how})",
                         network_id=network_id, to_agent=agent_id, host=host, now=now)
        if chosen:
            binding_changes.note(session, "scheduled", len(chosen))
            # The copies as they are now: the new bindings have confirmed nothing yet.
            statuses.refresh_network(session, net, copies + [
                DhcpCopy(agent_id, None) for agent_id, _ in chosen])
            LOG.info("network %s scheduled to DHCP agents %s (%s)", network_id,
                     short([agent_id for agent_id, _ in chosen]), how)
        return [agent_id for agent_id, _ in chosen]

    def _choose(self, session: Session, now: datetime, net: Network,
                hosting: list[str]) -> list[tuple[str, str]]:
        """The agents to add, with their hosts."""
        network_id = net.id
        wanted = self.settings.dhcp_agents_per_network
        strategy = self.settings.network_scheduler_driver
        zones = self._allowed_zones(net.availability_zone_hints)
        if self.fleet is None:
            candidates = self.snapshots(session, now)
            reach = self.reach(session, now, candidates, [network_id])
            if reach is not None:
                may = reach[network_id]
                candidates = [a for a in candidates if a.id in may or a.id in hosting]
            return _with_hosts(choose_agents(candidates, hosting, wanted, strategy, self.rng,
                                             zones), candidates)
        segment = self._segment(session, network_id)
        mode = self.settings.dhcp_schedule_require_l2_reach
        for _ in range(2):  # a stale copy is read whole again once (confirm invalidates it)
            # The short list holds the least loaded of every zone: choose_agents keeps to
            # the network's allowed zones among them as it would among all agents.
            candidates = self.fleet.shortlist(session, now, wanted - len(hosting), hosting,
                                              segment, mode, strategy, self.rng)
            chosen = choose_agents(candidates, hosting, wanted, strategy, self.rng, zones)
            hosts = self.fleet.confirm(session, chosen, now)
            if hosts is not None:
                return [(agent_id, hosts[agent_id]) for agent_id in chosen]
        return []  # the agents changed under us twice: the next report schedules it

    def _segment(self, session: Session, network_id: str) -> SegmentView | None:
        row = session.execute(select(NetworkSegment.network_type,
                                     NetworkSegment.physical_network)
                              .where(NetworkSegment.network_id == network_id)).first()
        return SegmentView(row[0], row[1]) if row is not None else None

    def _bind(self, session: Session, network_id: str, agent_id: str, now: datetime, *,
              net: Network | None = None, host: str | None = None) -> str:
        """Bind; `net` (the locked row) and the agent's `host`, when the caller has them,
        save reading them again."""
        if host is None:
            agent = session.get(Agent, agent_id)
            assert agent is not None
            host = agent.host
        if net is None:
            net = session.get(Network, network_id)
        assert net is not None
        # The revision now: a confirmation at or after it means this agent serves the
        # network (scheduler/readiness.py).
        session.add(NetworkDhcpAgentBinding(network_id=network_id, dhcp_agent_id=agent_id,
                                            created_at=now, bound_revision=net.revision_number))
        events.record(session, "agent.network_added", "agent", agent_id, network_id,
                      host=host)
        return host

    def _unbind(self, session: Session, network_id: str, agent: Agent) -> None:
        session.query(NetworkDhcpAgentBinding).filter_by(
            network_id=network_id, dhcp_agent_id=agent.id).delete()
        # A move from this binding is over; a move to it is cancelled (its source stays).
        session.execute(delete(NetworkMove).where(
            NetworkMove.network_id == network_id,
            or_(NetworkMove.from_agent_id == agent.id, NetworkMove.to_agent_id == agent.id)))
        # It may serve the old leases until it hears of this: addresses freed meanwhile
        # wait for its teardown too (services/quarantine.py).
        quarantine.note_unbound(session, network_id, agent.id, utcnow())
        events.record(session, "agent.network_removed", "agent", agent.id, network_id,
                      host=agent.host)

    def networks_needing_dhcp(self, session: Session) -> list[str]:
        """Networks with a DHCP-enabled subnet and fewer bindings than wanted."""
        wanted = self.settings.dhcp_agents_per_network
        with_dhcp = select(Subnet.network_id).where(Subnet.enable_dhcp.is_(True)).distinct()
        counts = dict(session.execute(
            select(NetworkDhcpAgentBinding.network_id, func.count())
            .group_by(NetworkDhcpAgentBinding.network_id)).all())
        return [nid for nid in session.scalars(with_dhcp) if counts.get(nid, 0) < wanted]

    def auto_schedule(self, reason: str = "network under-hosted") -> int:
        """Give unhosted or under-hosted networks to live agents (an agent just (re)started)."""
        if not self.settings.network_auto_schedule:
            return 0
        with self.db.session() as session:
            pending = self.networks_needing_dhcp(session)
        done = 0
        for network_id in pending:
            def work(session: Session, network_id: str = network_id) -> int:
                try:
                    net = load_network(session, network_id, lock=True)
                except NetworkNotFound:  # deleted meanwhile: nothing to schedule
                    return 0
                return len(self.schedule(session, net, reason))
            done += self.db.run(work)
        return done

    # ---- manual changes (agent_scheduler extension) ------------------------------------------

    def _dhcp_agent(self, session: Session, agent_id: str) -> Agent:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise AgentNotFound(agent_id)
        if agent.agent_type != AGENT_TYPE_DHCP:
            raise AgentNotDhcp(agent_id, agent.agent_type)
        return agent

    def add(self, agent_id: str, network_id: str, actor: Actor = SERVER) -> None:
        def work(session: Session) -> str:
            agent = self._dhcp_agent(session, agent_id)
            if not agent.admin_state_up:
                raise AgentDisabled(agent_id)
            net = load_network(session, network_id, lock=True)
            copies = statuses.copies_of(session, network_id)
            if any(c.agent_id == agent_id for c in copies):
                raise _already_hosted(network_id, agent_id)
            self._check_reach(session, agent, network_id)
            self._bind(session, network_id, agent_id, utcnow(), net=net, host=agent.host)
            history.note(session, history.ADDED, actor=actor, reason="dhcp-agent-network-add",
                         network_id=network_id, to_agent=agent_id, host=agent.host)
            binding_changes.note(session, "added")
            statuses.refresh_network(session, net, [*copies, DhcpCopy(agent_id, None)])
            return agent.host

        try:
            host = self.db.run(work)
        except IntegrityError:
            # The network row lock makes this rare; the primary key makes it impossible.
            raise _already_hosted(network_id, agent_id) from None
        LOG.info("network %s added to DHCP agent %s on %s by request", network_id, agent_id,
                 host)

    def _check_reach(self, session: Session, agent: Agent, network_id: str) -> None:
        now = utcnow()
        if self.fleet is not None:
            reaches, l2_agents = self.fleet.reaches(session, now, agent.host,
                                                    self._segment(session, network_id))
            if reaches or not filter_applies(self.settings.dhcp_schedule_require_l2_reach,
                                             l2_agents):
                return
        else:
            snapshot = AgentSnapshot(agent.id, agent.host, True, agent.admin_state_up)
            reach = self.reach(session, now, [snapshot], [network_id])
            if reach is None or agent.id in reach[network_id]:
                return
        message = (f"DHCP agent {agent.id} on host {agent.host} cannot serve network "
                   f"{network_id}: no live L2 agent on that host reaches the network's "
                   "segment (no mapping for its physical network, or no VXLAN).")
        if not self.settings.dhcp_force_unreachable_add:
            raise SegmentUnreachable(message + " Fix the L2 agent's mappings, or set "
                                     "[DEFAULT] dhcp_force_unreachable_add = True.")
        LOG.warning("%s Added anyway: dhcp_force_unreachable_add is True.", message)

    def remove(self, agent_id: str, network_id: str, actor: Actor = SERVER) -> None:
        """Remove a binding at once (the API's removal waits when needed: services/moves.py)."""
        def work(session: Session) -> None:
            agent = self._dhcp_agent(session, agent_id)
            net = load_network(session, network_id, lock=True)
            if agent_id not in self.hosting(session, network_id):
                raise NetworkNotHosted(f"The network {network_id} is not hosted by the DHCP "
                                       f"agent {agent_id}.")
            self.drop(session, net, agent)
            history.note(session, history.REMOVED, actor=actor,
                         reason="dhcp-agent-network-remove", network_id=network_id,
                         from_agent=agent_id, host=agent.host)
            binding_changes.note(session, "removed")
            LOG.info("network %s removed from DHCP agent %s on %s by request", network_id,
                     agent_id, agent.host)

        self.db.run(work)

    def drop(self, session: Session, net: Network, agent: Agent) -> None:
        """Unbind `agent` from `net` (whose row the caller has locked) with its DHCP port."""
        network_id = net.id
        self._unbind(session, network_id, agent)
        # The agent's DHCP port goes with the binding, as the agent would release it.
        ports = list(session.scalars(select(Port).where(
            Port.network_id == network_id, Port.device_owner == DEVICE_OWNER_DHCP,
            Port.binding_host_id == agent.host).options(selectinload(Port.fixed_ips))))
        if ports:
            bump(net)  # the other agents' hosts files change: a new revision
            quarantine.free(session, network_id, net.revision_number,
                            {(a.subnet_id, a.ip_address) for p in ports
                             for a in p.fixed_ips},
                            utcnow(), timedelta(seconds=self.settings.ip_reuse_quarantine))
        for port in ports:
            events.record(session, "port.delete", "port", port.id, network_id)
            session.delete(port)
        # Ports that waited for this agent alone to load them wait no more.
        statuses.refresh_networks(session, [network_id])

    def networks_of_agent(self, agent_id: str) -> list[dict[str, Any]]:
        """The networks the agent hosts, as the API shows networks."""
        with self.db.session() as session:
            self._dhcp_agent(session, agent_id)
            query = (select(Network).join(NetworkDhcpAgentBinding,
                                          NetworkDhcpAgentBinding.network_id == Network.id)
                     .where(NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)
                     .order_by(Network.created_at))
            nets = list(session.scalars(query))
            zones = hosting_zones(session, [n.id for n in nets])
            return [network_view(n, zones.get(n.id, ())) for n in nets]

    def agents_of_network(self, network_id: str, project_id: str | None = None) -> list[Agent]:
        with self.db.session() as session:
            load_network(session, network_id, project_id)
            return list(session.scalars(
                select(Agent).join(NetworkDhcpAgentBinding,
                                   NetworkDhcpAgentBinding.dhcp_agent_id == Agent.id)
                .where(NetworkDhcpAgentBinding.network_id == network_id)
                .order_by(Agent.host)))

    # ---- failover ---------------------------------------------------------------------------

    def failover(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Move networks off DHCP agents silent, while this server could hear them, for
        longer than agent_down_time + grace (scheduler/liveness.py); returns the moves."""
        if not self.settings.allow_automatic_dhcp_failover:
            return []
        now = now or utcnow()
        down, grace = self.settings.agent_down_time, self.settings.dhcp_failover_grace
        hearing = self.hearing_since()
        if hearing is None:
            # Deaf: judge nobody, but look whether the database is back (the verdicts'
            # wait starts when it is), since nothing else may be asking it.
            self.db.ping()
            return []
        limit = failover_cutoff(now, hearing, down, grace)
        if limit is None:  # not heard long enough to judge anyone
            return []
        with self.db.session() as session:
            dead = set(session.scalars(select(Agent.id).where(
                Agent.agent_type == AGENT_TYPE_DHCP, Agent.heartbeat_timestamp < limit)))
            if not dead:
                return []
            bindings = [(n, a) for n, a in session.execute(
                select(NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id)
                .where(NetworkDhcpAgentBinding.dhcp_agent_id.in_(dead)))]
            # Bindings in a move are the move's (services/moves.py): a dead source has its
            # replacement already, a dead target is replaced by the move itself; a second
            # newcomer would over-schedule the network.
            moving = {(n, a) for n, a in session.execute(
                select(NetworkMove.network_id, NetworkMove.from_agent_id)
                .where(NetworkMove.from_agent_id.in_(dead)))}
            moving |= {(n, a) for n, a in session.execute(
                select(NetworkMove.network_id, NetworkMove.to_agent_id)
                .where(NetworkMove.to_agent_id.in_(dead)))}
            bindings = [b for b in bindings if b not in moving]
            if not bindings:
                return []
            network_ids = {n for n, _ in bindings}
            all_bindings = [(n, a) for n, a in session.execute(
                select(NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id)
                .where(NetworkDhcpAgentBinding.network_id.in_(network_ids)))]
            candidates = self.snapshots(session, now)
            reach = self.reach(session, now, candidates, sorted(network_ids))
            moves = plan_failover(all_bindings, candidates, dead, self.rng, reach,
                                  self.zones(session, sorted(network_ids)))
        done: list[dict[str, Any]] = []
        # A few transactions for all of them, not one per network: an agent hosting
        # hundreds of networks must have them all moved within the bound (docs/operations.md,
        # "Failover timing"). Network rows are locked in id order (plan_failover's), so two
        # replicas doing this at once cannot deadlock.
        for start in range(0, len(moves), FAILOVER_BATCH):
            batch = moves[start:start + FAILOVER_BATCH]

            def work(session: Session, batch: list[Move] = batch) -> list[Move]:
                return self._fail_over(session, batch, now, down, grace)
            for move in self.db.run(work):
                LOG.warning("network %s moved from dead DHCP agent %s to %s (failover)",
                            move.network_id, move.from_agent, move.to_agent)
                done.append({"network_id": move.network_id, "from": move.from_agent,
                             "to": move.to_agent})
        return done

    def _fail_over(self, session: Session, moves: Sequence[Move], now: datetime, down: int,
                   grace: int) -> list[Move]:
        """Carry out the moves that still hold under the network locks; returns those.

        A handful of statements for the whole batch: the bound on failover time holds for
        an agent hosting hundreds of networks only if each move costs next to nothing."""
        network_ids = sorted({m.network_id for m in moves})
        # Lock in id order, so that two replicas doing this at once cannot deadlock; a
        # network deleted meanwhile is simply not there.
        revisions = {network_id: revision for network_id, revision in session.execute(
            select(Network.id, Network.revision_number).where(Network.id.in_(network_ids))
            .order_by(Network.id).with_for_update())}
        hosting: dict[str, set[str]] = {}
        for network_id, agent_id in session.execute(
                select(NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id)
                .where(NetworkDhcpAgentBinding.network_id.in_(network_ids))):
            hosting.setdefault(network_id, set()).add(agent_id)
        agent_ids = {m.from_agent for m in moves} | {m.to_agent for m in moves}
        agents = {a.id: a for a in session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))}
        hearing = self.hearing_since()
        done = []
        for move in moves:
            hosts = hosting.get(move.network_id, set())
            dead_agent = agents.get(move.from_agent)
            # Re-checked under the locks: another replica may have moved it already; the
            # agent may have reported, or the database or broker failed, meanwhile.
            if move.network_id not in revisions or move.from_agent not in hosts \
                    or move.to_agent in hosts or move.to_agent not in agents \
                    or dead_agent is None or not judged_dead(
                        dead_agent.heartbeat_timestamp, now, hearing, down, grace):
                continue
            hosts.discard(move.from_agent)
            hosts.add(move.to_agent)
            done.append(move)
        if not done:
            return []
        stamp = utcnow()
        for from_agent in sorted({m.from_agent for m in done}):
            session.execute(delete(NetworkDhcpAgentBinding).where(
                NetworkDhcpAgentBinding.dhcp_agent_id == from_agent,
                NetworkDhcpAgentBinding.network_id.in_(
                    [m.network_id for m in done if m.from_agent == from_agent])))
            # As _unbind: a move from or to the dead agent's binding is over.
            session.execute(delete(NetworkMove).where(
                NetworkMove.network_id.in_(
                    [m.network_id for m in done if m.from_agent == from_agent]),
                or_(NetworkMove.from_agent_id == from_agent,
                    NetworkMove.to_agent_id == from_agent)))
        # The dead agent may come back serving the old leases: freed addresses wait for
        # its teardown too (services/quarantine.py).
        quarantine.note_unbound_many(session, [(m.network_id, m.from_agent) for m in done],
                                     stamp)
        for move in done:
            # bound_revision as _bind sets it (scheduler/readiness.py).
            session.add(NetworkDhcpAgentBinding(
                network_id=move.network_id, dhcp_agent_id=move.to_agent, created_at=stamp,
                bound_revision=revisions[move.network_id]))
            events.record(session, "agent.network_removed", "agent", move.from_agent,
                          move.network_id, host=agents[move.from_agent].host, now=stamp)
            events.record(session, "agent.network_added", "agent", move.to_agent,
                          move.network_id, host=agents[move.to_agent].host, now=stamp)
            dead_agent = agents[move.from_agent]
            silent = silence(dead_agent.heartbeat_timestamp, now)
            history.note(session, history.FAILOVER,
                         reason=f"agent on {dead_agent.host} silent for {silent:.0f} s",
                         network_id=move.network_id, from_agent=move.from_agent,
                         to_agent=move.to_agent, host=agents[move.to_agent].host, now=stamp)
        session.flush()
        binding_changes.note(session, "failover", len(done))
        # Both at once: the newcomer holds back the ports the dead agent held back.
        statuses.refresh_networks(session, [m.network_id for m in done])
        return done

    def failover_pass(self) -> float | None:
        """Fail over what is due; returns the seconds until the next verdict is due (for the
        server's loop, api/loops.py `when_due`), None when nothing is to be judged."""
        self.failover()
        now = utcnow()
        due = self.next_failover_check(now)
        # A hair after the moment: the verdict is "silent for longer than" the limit.
        return None if due is None else (due - now).total_seconds() + DUE_MARGIN

    def next_failover_check(self, now: datetime | None = None) -> datetime | None:
        """When failover next has a verdict to give: the moment the DHCP agent (hosting a
        network) heard from longest ago would be judged dead; None: no such agent."""
        if not self.settings.allow_automatic_dhcp_failover:
            return None
        hearing = self.hearing_since()
        if hearing is None:
            return None
        now = now or utcnow()
        down, grace = self.settings.agent_down_time, self.settings.dhcp_failover_grace
        # Agents judged dead already keep only what nobody could take; the periodic pass
        # retries those.
        limit = failover_cutoff(now, hearing, down, grace)
        with self.db.session() as session:
            query = select(func.min(Agent.heartbeat_timestamp)).where(
                Agent.agent_type == AGENT_TYPE_DHCP,
                Agent.id.in_(select(NetworkDhcpAgentBinding.dhcp_agent_id).distinct()))
            if limit is not None:
                query = query.where(Agent.heartbeat_timestamp >= limit)
            oldest = session.scalar(query)
        if oldest is None:
            return None
        return judged_dead_after(oldest, hearing, down, grace)
