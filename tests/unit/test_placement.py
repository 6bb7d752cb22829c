"""Scheduler placement: which agents host a network, and where networks go on failover."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.scheduler.placement import (
    CHANCE,
    LEAST_LOADED,
    AgentSnapshot,
    Move,
    choose_agents,
    plan_failover,
)


def agent(ident: str, load: int = 0, alive: bool = True, up: bool = True,
          zone: str | None = "nova") -> AgentSnapshot:
    return AgentSnapshot(ident, f"host-{ident}", alive, up, load, zone)


@pytest.mark.parametrize(("candidates", "hosting", "wanted", "expected"), [
    ([agent("a", 3), agent("b", 1), agent("c", 2)], [], 1, ["b"]),
    ([agent("a", 3), agent("b", 1), agent("c", 2)], [], 2, ["b", "c"]),
    ([agent("a", 0, alive=False), agent("b", 5)], [], 1, ["b"]),
    ([agent("a", 0, up=False), agent("b", 5)], [], 1, ["b"]),
    ([agent("a", 0), agent("b", 5)], ["a"], 2, ["b"]),
    ([agent("a", 0), agent("b", 5)], ["a"], 1, []),
    ([agent("a", 0), agent("b", 5)], ["a", "b"], 1, []),
    ([agent("a", 0, alive=False), agent("b", 0, up=False)], [], 1, []),
    ([], [], 3, []),
    ([agent("a", 1)], [], 0, []),
])
def test_least_loaded_table(candidates: list[AgentSnapshot], hosting: list[str], wanted: int,
                            expected: list[str]) -> None:
    assert choose_agents(candidates, hosting, wanted, LEAST_LOADED, random.Random(1)) == expected


def test_least_loaded_prefers_an_unused_zone_on_equal_load() -> None:
    candidates = [agent("a", 0, zone="z1"), agent("b", 1, zone="z1"), agent("c", 1, zone="z2")]
    assert choose_agents(candidates, ["a"], 2, LEAST_LOADED, random.Random(3)) == ["c"]


def test_least_loaded_ties_are_shared_between_equal_agents() -> None:
    candidates = [agent("a"), agent("b"), agent("c")]
    rng = random.Random(5)
    picks = {choose_agents(candidates, [], 1, LEAST_LOADED, rng)[0] for _ in range(60)}
    assert picks == {"a", "b", "c"}


def test_chance_picks_at_random_among_eligible_agents() -> None:
    candidates = [agent("a", 9), agent("b", 0), agent("c", 0, alive=False)]
    rng = random.Random(11)
    picks = {choose_agents(candidates, [], 1, CHANCE, rng)[0] for _ in range(60)}
    assert picks == {"a", "b"}


agents_lists = st.lists(
    st.builds(AgentSnapshot, id=st.text("abcdefgh", min_size=1, max_size=3),
              host=st.just("h"), alive=st.booleans(), admin_state_up=st.booleans(),
              load=st.integers(min_value=0, max_value=50),
              availability_zone=st.sampled_from([None, "z1", "z2"])),
    max_size=12, unique_by=lambda a: a.id)


@given(agents_lists, st.data(), st.integers(min_value=0, max_value=6),
       st.sampled_from([LEAST_LOADED, CHANCE]), st.randoms(use_true_random=False))
def test_choose_never_exceeds_never_underfills_never_picks_ineligible(
        candidates: list[AgentSnapshot], data: st.DataObject, wanted: int, strategy: str,
        rng: random.Random) -> None:
    ids = [a.id for a in candidates]
    hosting = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    chosen = choose_agents(candidates, hosting, wanted, strategy, rng)
    by_id = {a.id: a for a in candidates}
    eligible = [a for a in candidates
                if a.alive and a.admin_state_up and a.id not in hosting]
    assert len(chosen) == len(set(chosen))
    assert not set(chosen) & set(hosting)
    assert all(by_id[c].alive and by_id[c].admin_state_up for c in chosen)
    # Never more than wanted, and never fewer than wanted while eligible agents are left.
    assert len(hosting) + len(chosen) <= max(wanted, len(hosting))
    assert len(chosen) == min(max(wanted - len(hosting), 0), len(eligible))


@given(agents_lists, st.integers(min_value=1, max_value=4), st.randoms(use_true_random=False))
def test_least_loaded_chooses_the_lowest_loads(candidates: list[AgentSnapshot], wanted: int,
                                               rng: random.Random) -> None:
    # In one zone; across zones the spread comes first (tests/unit/test_zones.py).
    candidates = [AgentSnapshot(a.id, a.host, a.alive, a.admin_state_up, a.load, "nova")
                  for a in candidates]
    chosen = choose_agents(candidates, [], wanted, LEAST_LOADED, rng)
    eligible = [a for a in candidates if a.alive and a.admin_state_up]
    loads = sorted(a.load for a in eligible)
    by_id = {a.id: a for a in candidates}
    assert sorted(by_id[c].load for c in chosen) == loads[:len(chosen)]


def test_failover_moves_networks_off_dead_agents_to_the_least_loaded() -> None:
    agents = [agent("dead", 2, alive=False), agent("busy", 5), agent("idle", 0)]
    moves = plan_failover([("n1", "dead"), ("n2", "dead"), ("n3", "busy")], agents, {"dead"},
                          random.Random(1))
    assert {m.network_id for m in moves} == {"n1", "n2"}
    assert all(m.from_agent == "dead" and m.to_agent == "idle" for m in moves)


def test_failover_spreads_load_as_it_goes() -> None:
    agents = [agent("dead", 0, alive=False), agent("x", 0), agent("y", 0)]
    bindings = [(f"n{i}", "dead") for i in range(4)]
    moves = plan_failover(bindings, agents, {"dead"}, random.Random(2))
    targets = [m.to_agent for m in moves]
    assert sorted(targets) == ["x", "x", "y", "y"]


def test_failover_keeps_binding_when_no_live_target() -> None:
    agents = [agent("dead", 1, alive=False), agent("off", 0, up=False),
              agent("down", 0, alive=False)]
    assert plan_failover([("n1", "dead")], agents, {"dead"}, random.Random(1)) == []


def test_failover_does_not_move_to_an_agent_already_hosting_the_network() -> None:
    agents = [agent("dead", 0, alive=False), agent("other", 0)]
    assert plan_failover([("n1", "dead"), ("n1", "other")], agents, {"dead"},
                         random.Random(1)) == []


def test_failover_leaves_dead_agents_within_grace_alone() -> None:
    agents = [agent("recent", 0, alive=False), agent("live", 0)]
    assert plan_failover([("n1", "recent")], agents, set(), random.Random(1)) == []


@given(agents_lists, st.data(), st.randoms(use_true_random=False))
def test_failover_moves_only_off_dead_agents_onto_eligible_ones(
        agents: list[AgentSnapshot], data: st.DataObject, rng: random.Random) -> None:
    ids = [a.id for a in agents]
    if not ids:
        return
    bindings = data.draw(st.lists(st.tuples(st.sampled_from(["n1", "n2", "n3"]),
                                            st.sampled_from(ids)), unique=True))
    dead = {a.id for a in agents if not a.alive}
    moves = plan_failover(bindings, agents, dead, rng)
    by_id = {a.id: a for a in agents}
    hosts: dict[str, set[str]] = {}
    for network_id, agent_id in bindings:
        hosts.setdefault(network_id, set()).add(agent_id)
    for move in moves:
        assert isinstance(move, Move)
        assert move.from_agent in dead and move.from_agent in hosts[move.network_id]
        target = by_id[move.to_agent]
        assert target.alive and target.admin_state_up
        assert move.to_agent not in hosts[move.network_id]
        hosts[move.network_id].discard(move.from_agent)
        hosts[move.network_id].add(move.to_agent)
