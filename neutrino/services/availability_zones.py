"""Availability zones as the `availability_zone` extension lists them, and the check that a
network's hints name zones that exist.

A zone exists for networks when a DHCP agent reports it; it is `available` when one of its
DHCP agents is enabled (admin_state_up), as Neutron judges it (not by liveness)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.db.models import Agent, NetworkDhcpAgentBinding
from neutrino.db.session import Database
from neutrino.errors import AvailabilityZoneNotFound
from neutrino.neutron_names import AGENT_TYPE_DHCP

# Agent type -> the resource its zones are for (Neutron's L3 agents give "router" zones).
RESOURCE_OF = {AGENT_TYPE_DHCP: "network"}


def zone_list(rows: Iterable[tuple[str | None, str, bool]]) -> list[dict[str, Any]]:
    """(zone, agent_type, admin_state_up) of every agent -> the zones, sorted; pure."""
    enabled: dict[tuple[str, str], bool] = {}
    for zone, agent_type, up in rows:
        resource = RESOURCE_OF.get(agent_type)
        if not zone or resource is None:
            continue
        enabled[(zone, resource)] = enabled.get((zone, resource), False) or bool(up)
    return [{"name": zone, "resource": resource,
             "state": "available" if up else "unavailable"}
            for (zone, resource), up in sorted(enabled.items())]


def check_hints_exist(session: Session, hints: Sequence[str]) -> None:
    """Every hint names a zone of some DHCP agent, whatever its state, as in Neutron."""
    if not hints:
        return
    known = set(session.scalars(select(Agent.availability_zone).distinct()
                                .where(Agent.agent_type == AGENT_TYPE_DHCP)))
    for hint in hints:
        if hint not in known:
            raise AvailabilityZoneNotFound(hint)


def hosting_zones(session: Session, network_ids: Sequence[str] | None
                  ) -> dict[str, list[str]]:
    """Per network, the zones of the DHCP agents hosting it (None: every network)."""
    query = (select(NetworkDhcpAgentBinding.network_id, Agent.availability_zone).distinct()
             .join(Agent, Agent.id == NetworkDhcpAgentBinding.dhcp_agent_id))
    if network_ids is not None:
        query = query.where(NetworkDhcpAgentBinding.network_id.in_(list(network_ids)))
    zones: dict[str, set[str]] = {}
    for network_id, zone in session.execute(query):
        if zone:
            zones.setdefault(network_id, set()).add(zone)
    return {nid: sorted(z) for nid, z in zones.items()}


class AvailabilityZones:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self) -> list[dict[str, Any]]:
        with self.db.session() as session:
            rows = session.execute(select(Agent.availability_zone, Agent.agent_type,
                                          Agent.admin_state_up).distinct())
            return zone_list((zone, kind, up) for zone, kind, up in rows)
