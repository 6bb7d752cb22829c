"""Where a network moves when it leaves a DHCP agent: pure planning over agent snapshots.

The same choice serves a drain, a move whose target died (re-targeting) and the rebalance
planner: a live, enabled agent that may take the network (`allowed`, the L2-reach filter of
scheduler/reach.py) in a zone the network may use (`zones`, scheduler/zones.py) and that
does not host it yet, least loaded first and spread over availability zones by
choose_agents (the zones of the agents that stay are the ones in use).
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from neutrino.scheduler.placement import LEAST_LOADED, AgentSnapshot, choose_agents
from neutrino.scheduler.readiness import BindingFacts


@dataclass(frozen=True)
class PlannedMove:
    """Move `network_id` off `from_agent` to `to_agent`; None: nowhere to go (it stays),
    unless `drop` (the other agents already host it dhcp_agents_per_network times)."""

    network_id: str
    from_agent: str
    to_agent: str | None
    drop: bool = False


def choose_target(network_id: str, hosts: set[str], from_agent: str,
                  agents: Sequence[AgentSnapshot],
                  allowed: Mapping[str, set[str]] | None,
                  rng: random.Random, avoid: set[str] | None = None,
                  zones: Mapping[str, frozenset[str] | None] | None = None) -> str | None:
    """One agent to take `network_id` from `from_agent`; None when no agent can."""
    may = allowed.get(network_id) if allowed is not None else None
    staying = hosts - {from_agent}
    pool = [a for a in agents
            if a.id != from_agent and a.id not in (avoid or set())
            and (may is None or a.id in may or a.id in staying)]
    chosen = choose_agents(pool, staying, len(staying) + 1, LEAST_LOADED, rng,
                           zones.get(network_id) if zones is not None else None)
    return chosen[0] if chosen else None


def plan_drain(agent_id: str, hosting: Mapping[str, set[str]],
               agents: Sequence[AgentSnapshot], wanted: int,
               allowed: Mapping[str, set[str]] | None = None,
               rng: random.Random | None = None,
               zones: Mapping[str, frozenset[str] | None] | None = None) -> list[PlannedMove]:
    """A move for each network in `hosting` (network -> agents hosting it; each includes
    `agent_id`), in network id order, the loads updated as the plan fills them."""
    rng = rng or random.Random()
    loads = {a.id: a.load for a in agents}
    plan: list[PlannedMove] = []
    for network_id in sorted(hosting):
        hosts = set(hosting[network_id])
        if len(hosts - {agent_id}) >= wanted:
            plan.append(PlannedMove(network_id, agent_id, None, drop=True))
            continue
        snapshot = [replace(a, load=loads[a.id]) for a in agents]
        target = choose_target(network_id, hosts, agent_id, snapshot, allowed, rng,
                               zones=zones)
        plan.append(PlannedMove(network_id, agent_id, target))
        if target is not None:
            loads[target] += 1
    return plan


# What one pending move does next (move_step).
WAIT = "wait"          # the target is loading: the source keeps serving
FINISH = "finish"      # remove the source's binding; the move is done
RETARGET = "retarget"  # the target cannot finish it: choose another
FORGET = "forget"      # the source's binding is gone already: nothing left to do


def move_step(source: BindingFacts | None, target: BindingFacts | None,
              target_usable: bool, source_dead: bool) -> str:
    """The next step of a move from `source` to `target` (None: that binding is gone).

    The source goes only when the target is ready, or when keeping it serves nobody: it
    confirmed nothing (no dnsmasq of it to keep), or failover judged its agent dead (it
    would drop that binding anyway, and the target is its replacement).
    """
    if source is None:
        return FORGET
    if target is not None and target.ready:
        return FINISH
    if not source.ready or (source_dead and target is not None):
        return FINISH
    if target is None or not target_usable:
        return RETARGET
    return WAIT
