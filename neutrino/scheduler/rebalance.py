"""Rebalance planning: the fewest network moves that even out DHCP agents' load (pure).

Only agents that may take new networks (alive, admin_state_up: `placement.eligible`) take
part, as sources and as targets: moving networks off a dead agent is failover's job, off a
disabled one drain's. An agent's load is the sum of the weights of the networks it hosts
(`dhcp_load_type`: 1 per network, or its subnets, or its ports; the caller says which).

Each step moves one network from a heavier agent to a lighter one when that strictly lowers
the sum of squared loads (its weight is below the gap between the two), so planning ends;
with unit weights it is the classic "heaviest to lightest until no two differ by more than
one", which needs no more moves than any other way of getting there. A move never goes to an
agent that hosts the network already, to one the network's `allowed` set excludes (the L2
reach filter of scheduler/reach.py and the zones its hints allow, scheduler/zones.py,
folded in by the caller), nor into an
availability zone the network's other agents already use while an unused zone has a
candidate. A move keeps the number of a network's agents as it is, so
dhcp_agents_per_network is never exceeded by the plan.
"""
from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from neutrino.scheduler.placement import AgentSnapshot, eligible
from neutrino.scheduler.zones import Zone


@dataclass(frozen=True)
class PlannedMove:
    network_id: str
    from_agent: str
    to_agent: str
    reason: str


@dataclass(frozen=True)
class RebalanceInput:
    """Everything the planner looks at, as plain data."""

    agents: Sequence[AgentSnapshot]
    bindings: Mapping[str, frozenset[str]]           # network -> agents hosting it
    weights: Mapping[str, int] = field(default_factory=dict)  # network -> weight (else 1)
    allowed: Mapping[str, frozenset[str]] | None = None  # network -> agents that may take it
    dhcp_agents_per_network: int = 1
    load_type: str = "networks"                      # only for the reasons' wording


def zone_of(agent: AgentSnapshot) -> Zone:
    # As scheduler/zones.py: an agent reporting no zone is in zone None, a zone of its own.
    return agent.availability_zone


def loads(data: RebalanceInput) -> dict[str, int]:
    """Each eligible agent's load, as the planner counts it."""
    counted = {a.id: 0 for a in data.agents if eligible(a)}
    for network_id, hosts in data.bindings.items():
        weight = data.weights.get(network_id, 1)
        for agent_id in hosts:
            if agent_id in counted:
                counted[agent_id] += weight
    return counted


class _State:
    """The bindings and loads as the plan so far leaves them."""

    def __init__(self, data: RebalanceInput) -> None:
        self.data = data
        self.by_id = {a.id: a for a in data.agents}
        self.load = loads(data)
        self.hosts = {n: set(h) for n, h in data.bindings.items()}
        # Per agent, its networks in id order (the planner's tie-break) and their weights.
        self.hosted: dict[str, list[str]] = {a: [] for a in self.load}
        self.weights_on: dict[str, Counter[int]] = {a: Counter() for a in self.load}
        for network_id in sorted(self.hosts):
            for agent_id in self.hosts[network_id]:
                if agent_id in self.hosted:
                    self.hosted[agent_id].append(network_id)
                    self.weights_on[agent_id][self.weight(network_id)] += 1

    def weight(self, network_id: str) -> int:
        return self.data.weights.get(network_id, 1)

    def may_take(self, network_id: str, agent_id: str) -> bool:
        allowed = self.data.allowed
        if allowed is None or network_id not in allowed:
            return True
        return agent_id in allowed[network_id]

    def zone_ok(self, network_id: str, source: str, target: str) -> bool:
        """No second copy in a zone while an unused zone has a candidate for the network."""
        others = self.hosts[network_id] - {source}
        used = {zone_of(self.by_id[a]) for a in others if a in self.by_id}
        if zone_of(self.by_id[target]) not in used:
            return True
        return not any(zone_of(self.by_id[a]) not in used
                       for a in self.load
                       if a not in self.hosts[network_id] and self.may_take(network_id, a))

    def feasible(self, network_id: str, source: str, target: str) -> bool:
        return (target not in self.hosts[network_id] and self.may_take(network_id, target)
                and self.zone_ok(network_id, source, target))

    def apply(self, move: PlannedMove) -> None:
        weight = self.weight(move.network_id)
        self.hosts[move.network_id].discard(move.from_agent)
        self.hosts[move.network_id].add(move.to_agent)
        source = self.hosted[move.from_agent]
        del source[bisect.bisect_left(source, move.network_id)]
        bisect.insort(self.hosted[move.to_agent], move.network_id)
        self.weights_on[move.from_agent][weight] -= 1
        self.weights_on[move.to_agent][weight] += 1
        self.load[move.from_agent] -= weight
        self.load[move.to_agent] += weight


def _reason(state: _State, source: str, target: str, weight: int) -> str:
    unit = state.data.load_type
    a, b = state.by_id[source], state.by_id[target]
    before_s, before_t = state.load[source], state.load[target]
    return (f"evens out load ({unit}): {a.host} {before_s} -> {before_s - weight}, "
            f"{b.host} {before_t} -> {before_t + weight}")


def _best_move(state: _State) -> PlannedMove | None:
    """The move that lowers the spread most, heaviest source and lightest target first."""
    order = sorted(state.load, key=lambda a: (-state.load[a], a))
    for source in order:
        for target in reversed(order):
            gap = state.load[source] - state.load[target]
            if gap <= 1:
                break  # lighter targets come first: no later one has a bigger gap
            # 0 < weight < gap: the sum of squared loads strictly drops. Closest to half
            # the gap evens out the pair best; ties by id, for a plan that is the same on
            # every replica and every run. The networks are in id order, so the first one
            # with the best distance any of the source's weights allows is the answer.
            usable = [w for w, n in state.weights_on[source].items() if n and 0 < w < gap]
            if not usable:
                continue
            floor = min(abs(gap - 2 * w) for w in usable)
            best: tuple[int, str] | None = None
            for network_id in state.hosted[source]:
                weight = state.weight(network_id)
                if not 0 < weight < gap or not state.feasible(network_id, source, target):
                    continue
                distance = abs(gap - 2 * weight)
                if best is None or distance < best[0]:
                    best = (distance, network_id)
                    if distance == floor:
                        break
            if best is not None:
                weight = state.weight(best[1])
                return PlannedMove(best[1], source, target,
                                   _reason(state, source, target, weight))
    return None


def plan_rebalance(data: RebalanceInput, limit: int | None = None) -> list[PlannedMove]:
    """The moves, in order, that even out the eligible agents' load (`limit`: at most)."""
    state = _State(data)
    moves: list[PlannedMove] = []
    while limit is None or len(moves) < limit:
        move = _best_move(state)
        if move is None:
            break
        moves.append(move)
        state.apply(move)
    return moves


def loads_after(data: RebalanceInput, moves: Sequence[PlannedMove]) -> dict[str, int]:
    """Each eligible agent's load once `moves` are done."""
    state = _State(data)
    for move in moves:
        state.apply(move)
    return dict(state.load)
