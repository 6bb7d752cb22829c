"""Availability zones in scheduling: hints restrict the zones, agents spread over zones."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.scheduler.placement import AgentSnapshot, choose_agents, plan_failover
from neutrino.scheduler.zones import allowed_zones, in_zones, spread


def agent(ident: str, zone: str | None, load: int = 0, alive: bool = True,
          up: bool = True) -> AgentSnapshot:
    return AgentSnapshot(ident, f"host-{ident}", alive, up, load, zone)


@pytest.mark.parametrize(("hints", "defaults", "expected"), [
    ([], [], None),
    (["a"], [], frozenset({"a"})),
    ([], ["b", "c"], frozenset({"b", "c"})),
    (["a"], ["b"], frozenset({"a"})),  # hints win over the defaults
])
def test_allowed_zones_are_the_hints_else_the_defaults(
        hints: list[str], defaults: list[str], expected: frozenset[str] | None) -> None:
    assert allowed_zones(hints, defaults) == expected


def test_in_zones_without_restriction_takes_any_zone_even_none() -> None:
    assert in_zones(None, None) and in_zones("a", None)
    assert not in_zones(None, frozenset({"a"})) and in_zones("a", frozenset({"a"}))


@pytest.mark.parametrize(("ranked", "hosted", "need", "expected"), [
    # One per zone before a second in any, whatever the rank order.
    ([("a1", "a"), ("a2", "a"), ("b1", "b")], [], 2, ["a1", "b1"]),
    ([("a1", "a"), ("a2", "a"), ("b1", "b")], [], 3, ["a1", "b1", "a2"]),
    # A zone that already holds one of the network's agents comes after those that hold none.
    ([("a1", "a"), ("b1", "b")], ["a"], 1, ["b1"]),
    # Only one zone has candidates: it takes them all.
    ([("a1", "a"), ("a2", "a")], ["b"], 2, ["a1", "a2"]),
    # Equal counts: the zone whose best candidate ranks first.
    ([("b1", "b"), ("a1", "a"), ("a2", "a")], [], 1, ["b1"]),
    ([], [], 2, []),
    ([("a1", "a")], [], 0, []),
])
def test_spread_table(ranked: list[tuple[str, str]], hosted: list[str], need: int,
                      expected: list[str]) -> None:
    picked = spread(ranked, lambda item: item[1], hosted, need)
    assert [name for name, _zone in picked] == expected


def test_least_loaded_puts_two_agents_in_two_zones_although_one_zone_is_idler() -> None:
    candidates = [agent("a1", "a", 0), agent("a2", "a", 0), agent("b1", "b", 9)]
    for seed in range(20):
        chosen = choose_agents(candidates, [], 2, rng=random.Random(seed))
        assert sorted(chosen)[1] == "b1" and len(chosen) == 2


def test_hints_restrict_candidates_to_their_zones() -> None:
    candidates = [agent("a1", "a", 5), agent("b1", "b", 0), agent("c1", "c", 0)]
    assert choose_agents(candidates, [], 2, zones=frozenset({"a"}),
                         rng=random.Random(1)) == ["a1"]
    assert choose_agents(candidates, [], 1, strategy="chance", zones=frozenset({"c"}),
                         rng=random.Random(1)) == ["c1"]


def test_failover_replaces_a_dead_agent_in_its_own_zone_first() -> None:
    agents = [agent("a-dead", "a", 3, alive=False), agent("a2", "a", 7),
              agent("b1", "b", 1), agent("b2", "b", 0)]
    moves = plan_failover([("n", "a-dead"), ("n", "b1")], agents, {"a-dead"},
                          random.Random(1))
    assert [(m.from_agent, m.to_agent) for m in moves] == [("a-dead", "a2")]


def test_failover_goes_to_another_zone_when_its_zone_has_no_candidate() -> None:
    agents = [agent("a-dead", "a", alive=False), agent("b1", "b"), agent("b2", "b", 4)]
    moves = plan_failover([("n", "a-dead"), ("n", "b1")], agents, {"a-dead"},
                          random.Random(1))
    assert [m.to_agent for m in moves] == ["b2"]


def test_failover_honours_the_network_zones() -> None:
    agents = [agent("a-dead", "a", alive=False), agent("b1", "b")]
    zones = {"n": frozenset({"a"})}
    assert plan_failover([("n", "a-dead")], agents, {"a-dead"}, random.Random(1),
                         zones=zones) == []


agents_lists = st.lists(
    st.builds(AgentSnapshot, id=st.text("abcdefghij", min_size=1, max_size=3),
              host=st.just("h"), alive=st.booleans(), admin_state_up=st.booleans(),
              load=st.integers(min_value=0, max_value=20),
              availability_zone=st.sampled_from([None, "z1", "z2", "z3"])),
    max_size=14, unique_by=lambda a: a.id)
zone_sets = st.none() | st.frozensets(st.sampled_from(["z1", "z2", "z3"]), min_size=1)


@given(agents_lists, st.data(), st.integers(min_value=0, max_value=6), zone_sets,
       st.randoms(use_true_random=False))
def test_choose_spreads_over_zones_and_keeps_to_the_allowed_ones(
        candidates: list[AgentSnapshot], data: st.DataObject, wanted: int,
        zones: frozenset[str] | None, rng: random.Random) -> None:
    ids = [a.id for a in candidates]
    hosting = data.draw(st.lists(st.sampled_from(ids), unique=True) if ids else st.just([]))
    chosen = choose_agents(candidates, hosting, wanted, rng=rng, zones=zones)
    by_id = {a.id: a for a in candidates}
    assert all(in_zones(by_id[c].availability_zone, zones) for c in chosen)
    pool = [a for a in candidates if a.alive and a.admin_state_up and a.id not in hosting
            and in_zones(a.availability_zone, zones)]
    assert len(chosen) == min(max(wanted - len(hosting), 0), len(pool))
    # Spread: a zone never gets a second agent of the network while another zone that had
    # a candidate left holds fewer of them.
    counts = Counter(by_id[h].availability_zone for h in hosting)
    left = Counter(a.availability_zone for a in pool)
    for pick in chosen:
        zone = by_id[pick].availability_zone
        assert all(counts[zone] <= counts[other] for other in left if left[other] > 0)
        counts[zone] += 1
        left[zone] -= 1


@given(agents_lists, st.integers(min_value=1, max_value=4), st.randoms(use_true_random=False))
def test_within_a_zone_the_least_loaded_are_chosen(candidates: list[AgentSnapshot],
                                                   wanted: int, rng: random.Random) -> None:
    chosen = set(choose_agents(candidates, [], wanted, rng=rng))
    pool = [a for a in candidates if a.alive and a.admin_state_up]
    for zone in {a.availability_zone for a in pool}:
        in_zone = [a for a in pool if a.availability_zone == zone]
        taken = [a.load for a in in_zone if a.id in chosen]
        passed = [a.load for a in in_zone if a.id not in chosen]
        assert not taken or not passed or max(taken) <= min(passed)
