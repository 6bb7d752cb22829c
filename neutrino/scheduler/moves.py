"""Where a network moves when it leaves a DHCP agent: pure planning over agent snapshots.

The same choice serves a drain, a move whose target died (re-targeting) and the rebalance
planner: a live, enabled agent that may take the network (`allowed`, the L2-reach filter of
scheduler/reach.py) in a zone the network may use (`zones`, scheduler/zones.py) and that
does not host it yet, least loaded first and spread over availability zones by
choose_agents (the zones of the agents that stay are the ones in use). A move's next step
(move_step) and its time limit (timed_out, stuck_action: [DEFAULT] dhcp_move_timeout) are
decided here too.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

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
TIME_OUT = "time_out"  # the target is usable but not ready within dhcp_move_timeout


def move_step(source: BindingFacts | None, target: BindingFacts | None,
              target_usable: bool, source_dead: bool, timed_out: bool = False) -> str:
    """The next step of a move from `source` to `target` (None: that binding is gone).

    The source goes only when the target is ready, or when keeping it serves nobody: it
    confirmed nothing (no dnsmasq of it to keep), or failover judged its agent dead (it
    would drop that binding anyway, and the target is its replacement). A target that is
    usable but still loading after the time limit (`timed_out`) is a stuck move's.
    """
    if source is None:
        return FORGET
    if target is not None and target.ready:
        return FINISH
    if not source.ready or (source_dead and target is not None):
        return FINISH
    if target is None or not target_usable:
        return RETARGET
    return TIME_OUT if timed_out else WAIT


def timed_out(target_since: datetime, now: datetime, timeout: int) -> bool:
    """True when the target has loaded for longer than `timeout` seconds (0: no limit)."""
    return timeout > 0 and (now - target_since).total_seconds() > timeout


# What a timed-out move does (stuck_action).
RETRY = "retry"    # another agent can take the network: move to it instead
REPORT = "report"  # nobody else can: report the move stuck (once); the source serves on
KEEP = "keep"      # reported already and still nobody else: nothing to do now


def stuck_action(reported: bool, alternative: str | None) -> str:
    """What a timed-out move does, given whether it was reported stuck already and the
    agent another try would use (choose_target avoiding the current target; None: none).

    Never a removal of the source: a stuck move only ever gets another target, so the
    network is served by its old agent until some target is ready.
    """
    if alternative is not None:
        return RETRY
    return KEEP if reported else REPORT
