"""Can a host carry a network's segment? The one rule, pure, over plain data.

A DHCP agent serves a network through the bridge its host's L2 agent wires, so it is only
useful where a live Linux bridge agent can reach the network's segment: a mapping for the
physical network (flat, vlan), or VXLAN among its tunnel types (vxlan). Local networks need
nothing from the wire, but still a live L2 agent on the host (as in Neutron). The data
comes from what the L2 agents report in `configurations`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neutrino.scheduler.placement import AgentSnapshot

# [DEFAULT] dhcp_schedule_require_l2_reach: when the filter applies (docs/operations.md).
AUTO = "auto"      # when at least one L2 agent is registered in the deployment
ALWAYS = "true"    # always, as Neutron: no L2 agent at all means no DHCP agent is chosen
NEVER = "false"    # never: DHCP agents are chosen regardless of L2 agents


@dataclass(frozen=True)
class L2Reach:
    """What one host's live L2 agent can carry."""

    host: str
    physnets: frozenset[str]
    vxlan: bool


@dataclass(frozen=True)
class SegmentView:
    network_type: str
    physical_network: str | None = None


def reach_from(host: str, configurations: Mapping[str, Any] | None) -> L2Reach:
    """Read an L2 agent's reported configurations (tolerant: agents report what they like)."""
    conf = configurations or {}
    physnets: set[str] = set()
    for key in ("interface_mappings", "bridge_mappings"):
        mapping = conf.get(key)
        if isinstance(mapping, Mapping):
            physnets.update(str(name) for name in mapping)
    tunnels = conf.get("tunnel_types")
    vxlan = isinstance(tunnels, (list, tuple)) and "vxlan" in tunnels
    return L2Reach(host, frozenset(physnets), vxlan)


def can_carry(reach: L2Reach, segment: SegmentView) -> bool:
    kind = segment.network_type
    if kind == "local":
        return True
    if kind == "vxlan":
        return reach.vxlan
    if kind in ("flat", "vlan"):
        return segment.physical_network is not None and \
            segment.physical_network in reach.physnets
    return False


def reaching_hosts(live_l2: Iterable[L2Reach], segment: SegmentView) -> frozenset[str]:
    return frozenset(r.host for r in live_l2 if can_carry(r, segment))


def filter_applies(mode: str, l2_agents_registered: int) -> bool:
    if mode == NEVER:
        return False
    if mode == ALWAYS:
        return True
    return l2_agents_registered > 0


def reachable_agents(candidates: Sequence[AgentSnapshot], live_l2: Sequence[L2Reach],
                     segment: SegmentView | None) -> set[str]:
    """Ids of the DHCP agents whose host can reach `segment` (no segment: all of them)."""
    if segment is None:
        return {a.id for a in candidates}
    hosts = reaching_hosts(live_l2, segment)
    return {a.id for a in candidates if a.host in hosts}
