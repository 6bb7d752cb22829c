"""Which DHCP agents should host a network: pure functions over agent snapshots."""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from neutrino.scheduler.zones import in_zones, spread

LEAST_LOADED = "least_loaded"
CHANCE = "chance"


@dataclass(frozen=True)
class AgentSnapshot:
    id: str
    host: str
    alive: bool
    admin_state_up: bool
    load: int = 0
    availability_zone: str | None = None


def eligible(agent: AgentSnapshot) -> bool:
    """Disabled or dead agents receive no new networks."""
    return agent.alive and agent.admin_state_up


def choose_agents(
    candidates: Sequence[AgentSnapshot],
    hosting: Iterable[str],
    wanted: int,
    strategy: str = LEAST_LOADED,
    rng: random.Random | None = None,
    zones: frozenset[str] | None = None,
) -> list[str]:
    """Agents to add so that a network has `wanted` hosts; never more, never a repeat.

    `zones`: the availability zones the network may use (scheduler/zones.py); None: any.
    """
    rng = rng or random.Random()
    already = set(hosting)
    need = wanted - len(already)
    if need <= 0:
        return []
    pool = [a for a in candidates if eligible(a) and a.id not in already
            and in_zones(a.availability_zone, zones)]
    if strategy == CHANCE:
        return [a.id for a in rng.sample(pool, min(need, len(pool)))]
    # Least loaded first, ties broken at random so that equal agents share new networks
    # instead of the first one taking them all; then spread over zones (one per zone before
    # a second in any), as Neutron's AZAwareWeightScheduler does.
    ranked = sorted(pool, key=lambda a: (a.load, rng.random()))
    hosted = [a.availability_zone for a in candidates if a.id in already]
    return [a.id for a in spread(ranked, _zone, hosted, need)]


def _zone(agent: AgentSnapshot) -> str | None:
    return agent.availability_zone


@dataclass(frozen=True)
class Move:
    network_id: str
    from_agent: str
    to_agent: str


def plan_failover(
    bindings: Iterable[tuple[str, str]],
    agents: Sequence[AgentSnapshot],
    dead_since_long_enough: set[str],
    rng: random.Random | None = None,
    allowed: Mapping[str, set[str]] | None = None,
    zones: Mapping[str, frozenset[str] | None] | None = None,
) -> list[Move]:
    """Move networks off agents dead beyond the grace period, to live agents, least loaded.

    `allowed`: per network, the agents that may take it (scheduler/reach.py); a network
    not in it may go to any agent. `zones`: per network, the availability zones it may use
    (scheduler/zones.py); a network not in it may use any.

    A binding stays where it is when no live agent can take it: the dead agent may come back,
    and dropping the binding would leave the network with nobody to return to.
    """
    rng = rng or random.Random()
    by_network: dict[str, set[str]] = {}
    for network_id, agent_id in bindings:
        by_network.setdefault(network_id, set()).add(agent_id)
    loads = {a.id: a.load for a in agents}
    moves: list[Move] = []
    for network_id in sorted(by_network):
        hosts = by_network[network_id]
        for dead in sorted(hosts & dead_since_long_enough):
            may = allowed.get(network_id) if allowed is not None else None
            # The dead agent's zone counts no more: its replacement goes to the zone that
            # lost an agent when that zone has a candidate.
            staying = hosts - {dead}
            snapshot = [AgentSnapshot(a.id, a.host, a.alive, a.admin_state_up, loads[a.id],
                                      a.availability_zone) for a in agents
                        if a.id != dead and (may is None or a.id in may or a.id in hosts)]
            chosen = choose_agents(snapshot, staying, len(staying) + 1, LEAST_LOADED, rng,
                                   zones.get(network_id) if zones is not None else None)
            if not chosen:
                continue
            target = chosen[0]
            moves.append(Move(network_id, dead, target))
            hosts.discard(dead)
            hosts.add(target)
            loads[target] += 1
            loads[dead] -= 1
    return moves
