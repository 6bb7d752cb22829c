"""Fleet aggregates: agents by state and load, networks at risk, the event log's head.

What /metrics and the dashboard show about the whole fleet, computed with a few SQL
aggregate queries whatever the number of agents and networks, from the database alone:
every API worker and server replica answers the same (no per-process state).

"At risk" is a network that needs DHCP (it has a DHCP-enabled subnet) and is hosted by
fewer *alive* DHCP agents than `dhcp_agents_per_network`: an agent that stopped
heartbeating makes its networks at risk at once, before failover (agent_down_time +
dhcp_failover_grace) moves them. Disabled agents still serve what they host, so they count.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Subquery, case, func, select

from neutrino.config import ServerSettings
from neutrino.db.models import Agent, Event, Network, NetworkDhcpAgentBinding, Subnet
from neutrino.db.session import Database
from neutrino.scheduler.liveness import alive_cutoff
from neutrino.services.clock import utcnow

_B = NetworkDhcpAgentBinding


@dataclass(frozen=True)
class AgentLoad:
    """One agent as the fleet views show it."""

    id: str
    agent_type: str
    host: str
    availability_zone: str | None
    admin_state_up: bool
    alive: bool
    heartbeat_age: float  # seconds since its last recorded heartbeat, server time
    networks: int  # networks bound to it (DHCP agents; 0 for others)


@dataclass(frozen=True)
class FleetSummary:
    """The fleet at one moment (`at`, server time)."""

    at: datetime
    agents: list[AgentLoad]  # every agent, ordered by (agent_type, host)
    dhcp_networks: int  # networks with a DHCP-enabled subnet
    networks_at_risk: int  # of those, fewer alive hosting agents than dhcp_agents_per_network
    networks_unserved: int  # of those, no alive hosting agent at all
    dhcp_agents_per_network: int
    event_head: int  # the event log's newest revision (0 when empty)

    def agent_counts(self) -> Counter[tuple[str, bool, bool]]:
        """Agents per (agent_type, alive, admin_state_up)."""
        return Counter((a.agent_type, a.alive, a.admin_state_up) for a in self.agents)


@dataclass(frozen=True)
class AtRiskNetwork:
    id: str
    name: str
    alive_agents: int  # alive DHCP agents hosting it
    agents: int  # DHCP agents hosting it, alive or not


def _alive_bindings(now: datetime, agent_down_time: int) -> Subquery:
    """Per network, how many alive agents host it (a subquery)."""
    return (select(_B.network_id, func.count().label("n"))
            .join(Agent, Agent.id == _B.dhcp_agent_id)
            .where(Agent.heartbeat_timestamp >= alive_cutoff(now, agent_down_time))
            .group_by(_B.network_id).subquery())


def _dhcp_networks() -> Subquery:
    return (select(Subnet.network_id).where(Subnet.enable_dhcp.is_(True))
            .distinct().subquery())


def summarize(db: Database, settings: ServerSettings, now: datetime | None = None
              ) -> FleetSummary:
    """The fleet now: three aggregate queries on one connection."""
    now = now or utcnow()
    down = settings.agent_down_time
    wanted = settings.dhcp_agents_per_network
    cutoff = alive_cutoff(now, down)
    bound = (select(_B.dhcp_agent_id, func.count().label("n"))
             .group_by(_B.dhcp_agent_id).subquery())
    agents_query = (select(Agent.id, Agent.agent_type, Agent.host, Agent.availability_zone,
                           Agent.admin_state_up, Agent.heartbeat_timestamp,
                           func.coalesce(bound.c.n, 0))
                    .outerjoin(bound, bound.c.dhcp_agent_id == Agent.id)
                    .order_by(Agent.agent_type, Agent.host))
    alive = _alive_bindings(now, down)
    dhcp = _dhcp_networks()
    hosts = func.coalesce(alive.c.n, 0)
    risk_query = (select(func.count(), func.sum(case((hosts < wanted, 1), else_=0)),
                         func.sum(case((hosts == 0, 1), else_=0)))
                  .select_from(dhcp.outerjoin(alive, alive.c.network_id == dhcp.c.network_id)))
    with db.connect() as conn:
        agents = [AgentLoad(id=row[0], agent_type=row[1], host=row[2],
                            availability_zone=row[3], admin_state_up=bool(row[4]),
                            alive=row[5] >= cutoff,
                            heartbeat_age=max(0.0, (now - row[5]).total_seconds()),
                            networks=int(row[6]))
                  for row in conn.execute(agents_query)]
        total, at_risk, unserved = conn.execute(risk_query).one()
        head = conn.execute(select(func.max(Event.id))).scalar()
    return FleetSummary(at=now, agents=agents, dhcp_networks=int(total or 0),
                        networks_at_risk=int(at_risk or 0),
                        networks_unserved=int(unserved or 0),
                        dhcp_agents_per_network=wanted, event_head=int(head or 0))


def networks_at_risk(db: Database, settings: ServerSettings, limit: int = 100,
                     after: str | None = None, now: datetime | None = None
                     ) -> list[AtRiskNetwork]:
    """One page of the at-risk networks, by id, starting after network id `after`."""
    now = now or utcnow()
    alive = _alive_bindings(now, settings.agent_down_time)
    dhcp = _dhcp_networks()
    every = (select(_B.network_id, func.count().label("n")).group_by(_B.network_id)
             .subquery())
    hosts = func.coalesce(alive.c.n, 0)
    query = (select(Network.id, Network.name, hosts, func.coalesce(every.c.n, 0))
             .join(dhcp, dhcp.c.network_id == Network.id)
             .outerjoin(alive, alive.c.network_id == Network.id)
             .outerjoin(every, every.c.network_id == Network.id)
             .where(hosts < settings.dhcp_agents_per_network)
             .order_by(Network.id).limit(limit))
    if after is not None:
        query = query.where(Network.id > after)
    with db.connect() as conn:
        return [AtRiskNetwork(id=r[0], name=r[1], alive_agents=int(r[2]), agents=int(r[3]))
                for r in conn.execute(query)]
