"""Network <-> DHCP agent bindings: scheduling, manual changes and failover."""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from neutrino import zone_hints
from neutrino.config import ServerSettings
from neutrino.db.models import (
    Agent,
    Network,
    NetworkDhcpAgentBinding,
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
from neutrino.scheduler.liveness import failover_cutoff, is_alive, judged_dead
from neutrino.scheduler.placement import AgentSnapshot, choose_agents, plan_failover
from neutrino.scheduler.reach import (
    L2Reach,
    SegmentView,
    filter_applies,
    reach_from,
    reachable_agents,
)
from neutrino.scheduler.zones import allowed_zones
from neutrino.services import binding_changes, events, quarantine, statuses
from neutrino.services.availability_zones import hosting_zones
from neutrino.services.clock import utcnow
from neutrino.services.networks import bump, load_network
from neutrino.services.views import network_view

LOG = logging.getLogger(__name__)


def _already_hosted(network_id: str, agent_id: str) -> NetworkAlreadyHosted:
    return NetworkAlreadyHosted(f"The network {network_id} has been already hosted by the "
                                f"DHCP agent {agent_id}.")


def short(ids: Sequence[str]) -> str:
    return ", ".join(i[:8] + "…" for i in ids)


class Bindings:
    def __init__(self, db: Database, settings: ServerSettings, rng: random.Random,
                 hearing_since: Callable[[], datetime | None]) -> None:
        self.db = db
        self.settings = settings
        self.rng = rng
        # Since when this process has heard agents without a break (services/hearing.py).
        self.hearing_since = hearing_since

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
        defaults = self.settings.default_availability_zones
        return {nid: allowed_zones(zone_hints.split(hints), defaults)
                for nid, hints in session.execute(
                    select(Network.id, Network.availability_zone_hints)
                    .where(Network.id.in_(list(network_ids))))}

    def hosting(self, session: Session, network_id: str) -> list[str]:
        return list(session.scalars(select(NetworkDhcpAgentBinding.dhcp_agent_id)
                                    .where(NetworkDhcpAgentBinding.network_id == network_id)))

    def networks_hosted_by(self, session: Session, agent_id: str) -> list[str]:
        return list(session.scalars(select(NetworkDhcpAgentBinding.network_id)
                                    .where(NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)))

    # ---- automatic scheduling ---------------------------------------------------------------

    def schedule(self, session: Session, network_id: str) -> list[str]:
        """Bind a network (whose row the caller has locked) up to dhcp_agents_per_network."""
        if not self.settings.network_auto_schedule:
            return []
        now = utcnow()
        hosting = self.hosting(session, network_id)
        if len(hosting) >= self.settings.dhcp_agents_per_network:
            return []
        candidates = self.snapshots(session, now)
        reach = self.reach(session, now, candidates, [network_id])
        if reach is not None:
            may = reach[network_id]
            candidates = [a for a in candidates if a.id in may or a.id in hosting]
        chosen = choose_agents(candidates, hosting,
                               self.settings.dhcp_agents_per_network,
                               self.settings.network_scheduler_driver, self.rng,
                               self.zones(session, [network_id]).get(network_id))
        hosts = {}
        for agent_id in chosen:
            hosts[agent_id] = self._bind(session, network_id, agent_id, now)
        if chosen:
            binding_changes.note(session, "scheduled", len(chosen))
            statuses.refresh_networks(session, [network_id])
            LOG.info("network %s scheduled to DHCP agents %s (%s)", network_id, short(chosen),
                     self.settings.network_scheduler_driver.replace("_", " "))
        return chosen

    def _bind(self, session: Session, network_id: str, agent_id: str, now: datetime) -> str:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        session.add(NetworkDhcpAgentBinding(network_id=network_id, dhcp_agent_id=agent_id,
                                            created_at=now))
        events.record(session, "agent.network_added", "agent", agent_id, network_id,
                      host=agent.host)
        return agent.host

    def _unbind(self, session: Session, network_id: str, agent: Agent) -> None:
        session.query(NetworkDhcpAgentBinding).filter_by(
            network_id=network_id, dhcp_agent_id=agent.id).delete()
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

    def auto_schedule(self) -> int:
        """Give unhosted or under-hosted networks to live agents (an agent just (re)started)."""
        if not self.settings.network_auto_schedule:
            return 0
        with self.db.session() as session:
            pending = self.networks_needing_dhcp(session)
        done = 0
        for network_id in pending:
            def work(session: Session, network_id: str = network_id) -> int:
                try:
                    load_network(session, network_id, lock=True)
                except NetworkNotFound:  # deleted meanwhile: nothing to schedule
                    return 0
                return len(self.schedule(session, network_id))
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

    def add(self, agent_id: str, network_id: str) -> None:
        def work(session: Session) -> str:
            agent = self._dhcp_agent(session, agent_id)
            if not agent.admin_state_up:
                raise AgentDisabled(agent_id)
            load_network(session, network_id, lock=True)
            if agent_id in self.hosting(session, network_id):
                raise _already_hosted(network_id, agent_id)
            self._check_reach(session, agent, network_id)
            self._bind(session, network_id, agent_id, utcnow())
            binding_changes.note(session, "added")
            statuses.refresh_networks(session, [network_id])
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

    def remove(self, agent_id: str, network_id: str) -> None:
        def work(session: Session) -> None:
            agent = self._dhcp_agent(session, agent_id)
            net = load_network(session, network_id, lock=True)
            if agent_id not in self.hosting(session, network_id):
                raise NetworkNotHosted(f"The network {network_id} is not hosted by the DHCP "
                                       f"agent {agent_id}.")
            self._unbind(session, network_id, agent)
            binding_changes.note(session, "removed")
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
            LOG.info("network %s removed from DHCP agent %s on %s by request", network_id,
                     agent_id, agent.host)

        self.db.run(work)

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
        done = []
        for move in moves:
            def work(session: Session, move: Any = move) -> bool:
                try:
                    load_network(session, move.network_id, lock=True)
                except NetworkNotFound:  # the network went away meanwhile
                    return False
                hosting = self.hosting(session, move.network_id)
                # Re-check under the lock: another server replica may have moved it already.
                if move.from_agent not in hosting or move.to_agent in hosting:
                    return False
                dead_agent = session.get(Agent, move.from_agent)
                # Again under the lock and with hearing as it is now: the agent may have
                # reported, or the database or broker may have failed, meanwhile.
                if dead_agent is None or not judged_dead(
                        dead_agent.heartbeat_timestamp, now, self.hearing_since(), down, grace):
                    return False
                self._unbind(session, move.network_id, dead_agent)
                self._bind(session, move.network_id, move.to_agent, utcnow())
                binding_changes.note(session, "failover")
                # Both at once: the newcomer holds back the ports the dead agent held back.
                statuses.refresh_networks(session, [move.network_id])
                return True
            if self.db.run(work):
                LOG.warning("network %s moved from dead DHCP agent %s to %s (failover)",
                            move.network_id, move.from_agent, move.to_agent)
                done.append({"network_id": move.network_id, "from": move.from_agent,
                             "to": move.to_agent})
        return done
