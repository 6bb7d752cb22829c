"""Drain targets and the steps of a move (scheduler/moves.py), on plain data."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.scheduler.moves import (
    FINISH,
    FORGET,
    RETARGET,
    WAIT,
    choose_target,
    move_step,
    plan_drain,
)
from neutrino.scheduler.placement import AgentSnapshot, eligible
from neutrino.scheduler.readiness import BindingFacts


def agent(agent_id: str, alive: bool = True, up: bool = True, load: int = 0,
          zone: str | None = None) -> AgentSnapshot:
    return AgentSnapshot(agent_id, f"host-{agent_id}", alive, up, load, zone)


def test_drain_spreads_networks_over_the_least_loaded_agents() -> None:
    agents = [agent("x", up=False, load=4), agent("a", load=0), agent("b", load=2)]
    hosting = {f"n{i}": {"x"} for i in range(4)}
    plan = plan_drain("x", hosting, agents, wanted=1, rng=random.Random(1))
    targets = [m.to_agent for m in plan]
    assert sorted(targets) == ["a", "a", "a", "b"]  # a catches up with b, then they share
    assert all(m.from_agent == "x" and not m.drop for m in plan)


def test_drain_never_targets_dead_disabled_or_unreachable_agents() -> None:
    agents = [agent("x"), agent("dead", alive=False), agent("off", up=False), agent("far"),
              agent("ok", load=9)]
    plan = plan_drain("x", {"n1": {"x"}}, agents, 1, allowed={"n1": {"x", "dead", "off", "ok"}})
    assert [m.to_agent for m in plan] == ["ok"]


def test_network_no_agent_can_take_stays_and_is_reported() -> None:
    agents = [agent("x"), agent("far")]
    plan = plan_drain("x", {"n1": {"x"}}, agents, 1, allowed={"n1": {"x"}})
    assert plan[0].to_agent is None and not plan[0].drop


def test_drain_never_picks_an_agent_hosting_the_network_already() -> None:
    agents = [agent("x"), agent("y"), agent("z", load=5)]
    plan = plan_drain("x", {"n1": {"x", "y"}}, agents, wanted=2)
    assert [m.to_agent for m in plan] == ["z"]


def test_network_hosted_enough_elsewhere_is_dropped_not_moved() -> None:
    agents = [agent("x"), agent("y"), agent("z")]
    plan = plan_drain("x", {"n1": {"x", "y"}}, agents, wanted=1)
    assert plan[0].drop and plan[0].to_agent is None


def test_target_prefers_a_zone_the_staying_agents_do_not_use_at_equal_load() -> None:
    # The hook for AZ spread: choose_agents ranks by load, then by zone not yet used.
    agents = [agent("x", zone="az1"), agent("y", zone="az2"), agent("a", zone="az2"),
              agent("b", zone="az1")]
    assert choose_target("n1", {"x", "y"}, "x", agents, None, random.Random(0)) == "b"


@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 5)), min_size=1,
                max_size=6),
       st.lists(st.sets(st.integers(0, 5), max_size=3), min_size=1, max_size=8),
       st.integers(1, 3))
def test_drain_plan_only_uses_eligible_agents_and_never_over_schedules(
        states: list[tuple[bool, bool, int]], others: list[set[int]], wanted: int) -> None:
    agents = [agent("x")] + [agent(f"a{i}", alive, up, load)
                             for i, (alive, up, load) in enumerate(states)]
    ids = {a.id for a in agents}
    hosting = {f"n{k}": {"x"} | {f"a{i}" for i in hosts if f"a{i}" in ids}
               for k, hosts in enumerate(others)}
    by_id = {a.id: a for a in agents}
    for move in plan_drain("x", hosting, agents, wanted, rng=random.Random(0)):
        hosts = hosting[move.network_id]
        if move.drop:
            assert len(hosts - {"x"}) >= wanted
        elif move.to_agent is not None:
            assert eligible(by_id[move.to_agent]) and move.to_agent not in hosts
        else:
            assert not any(eligible(a) and a.id not in hosts for a in agents)


def b(agent_id: str, applied: int | None) -> BindingFacts:
    return BindingFacts(agent_id, applied, 1)


@pytest.mark.parametrize(("source", "target", "usable", "dead", "step"), [
    (b("x", 1), b("y", None), True, False, WAIT),       # target loading: x keeps serving
    (b("x", 1), b("y", 1), True, False, FINISH),        # target ready: x goes
    (b("x", 1), b("y", 1), False, False, FINISH),       # ready even if now dead: done
    (b("x", 1), b("y", None), False, False, RETARGET),  # target died or was disabled
    (b("x", 1), None, True, False, RETARGET),           # target binding gone
    (b("x", None), b("y", None), True, False, FINISH),  # x serves nothing to keep
    (b("x", 1), b("y", None), True, True, FINISH),      # x judged dead: y replaces it
    (b("x", 1), None, True, True, RETARGET),            # ... but only with a replacement
    (None, b("y", None), True, False, FORGET),          # x's binding went otherwise
])
def test_move_step(source: BindingFacts | None, target: BindingFacts | None, usable: bool,
                   dead: bool, step: str) -> None:
    assert move_step(source, target, usable, dead) == step
