"""The candidate index: placement over its short list picks what it would over the fleet."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.scheduler.candidates import CandidateIndex
from neutrino.scheduler.placement import CHANCE, LEAST_LOADED, AgentSnapshot, choose_agents

ZONES = ("nova", "az2", None)

fleets = st.lists(st.tuples(st.integers(0, 6), st.sampled_from(ZONES), st.booleans()),
                  min_size=0, max_size=80)


def _build(fleet: list[tuple[int, str | None, bool]]) -> tuple[CandidateIndex,
                                                              list[AgentSnapshot], set[str]]:
    index = CandidateIndex()
    agents = [AgentSnapshot(f"a{i}", f"h{i}", True, True, load, zone)
              for i, (load, zone, _) in enumerate(fleet)]
    for agent in agents:
        index.put(agent)
    refused = {a.id for a, (_, _, ok) in zip(agents, fleet, strict=True) if not ok}
    return index, agents, refused


def _key(chosen: list[str], agents: list[AgentSnapshot], used: set[str | None]
         ) -> list[tuple[int, bool]]:
    by_id = {a.id: a for a in agents}
    return sorted((by_id[i].load, by_id[i].availability_zone in used) for i in chosen)


@settings(max_examples=300, deadline=None)
@given(fleets, st.integers(0, 5), st.integers(1, 4), st.integers(0, 2**32),
       st.one_of(st.none(), st.frozensets(st.sampled_from(("nova", "az2")), min_size=1)))
def test_least_loaded_over_the_short_list_equals_over_the_fleet(
        fleet: list[tuple[int, str | None, bool]], hosting_n: int, wanted: int,
        seed: int, zones: frozenset[str] | None) -> None:
    index, agents, refused = _build(fleet)
    hosting = [a.id for a in agents[:hosting_n]]
    used = {a.availability_zone for a in agents[:hosting_n]}
    allowed = [a for a in agents if a.id not in refused or a.id in hosting]
    full = choose_agents(allowed, hosting, wanted, LEAST_LOADED, random.Random(seed), zones)
    short = index.shortlist(wanted - len(hosting), lambda a: a.id not in refused and
                            a.id not in hosting, LEAST_LOADED, random.Random(seed))
    assert len(short) <= max(0, wanted - len(hosting)) * len(ZONES)
    held = [a for a in agents if a.id in hosting]
    picked = choose_agents(held + short, hosting, wanted, LEAST_LOADED, random.Random(seed),
                           zones)
    assert _key(picked, agents, used) == _key(full, agents, used)
    assert not set(picked) & (refused | set(hosting))


@settings(max_examples=200, deadline=None)
@given(fleets, st.integers(1, 4), st.integers(0, 2**32))
def test_chance_draws_only_allowed_agents_and_enough_of_them(
        fleet: list[tuple[int, str | None, bool]], wanted: int, seed: int) -> None:
    index, agents, refused = _build(fleet)
    short = index.shortlist(wanted, lambda a: a.id not in refused, CHANCE,
                            random.Random(seed))
    assert len({a.id for a in short}) == len(short)
    assert not {a.id for a in short} & refused
    assert len(short) == min(wanted, len(agents) - len(refused))


def test_removed_and_reloaded_agents_are_indexed_as_they_are_now() -> None:
    index = CandidateIndex()
    index.put(AgentSnapshot("a", "ha", True, True, 0, "nova"))
    index.put(AgentSnapshot("b", "hb", True, True, 1, "nova"))
    index.set_load("a", 5)
    assert [x.id for x in index.shortlist(1, lambda _: True, LEAST_LOADED,
                                          random.Random(0))] == ["b"]
    index.remove("b")
    assert [x.id for x in index.shortlist(1, lambda _: True, LEAST_LOADED,
                                          random.Random(0))] == ["a"]
    index.remove("a")
    assert len(index) == 0
    assert index.shortlist(1, lambda _: True, LEAST_LOADED, random.Random(0)) == []


def test_a_draw_that_most_agents_refuse_still_finds_the_one_that_fits() -> None:
    index = CandidateIndex()
    for i in range(5000):
        index.put(AgentSnapshot(f"a{i}", f"h{i}", True, True, 0, "nova"))
    found = index.shortlist(1, lambda a: a.id == "a4321", LEAST_LOADED, random.Random(3))
    assert [a.id for a in found] == ["a4321"]
