"""The rebalance planner: plain agents and bindings in, the fewest evening-out moves out."""
from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino.scheduler.placement import AgentSnapshot, eligible
from neutrino.scheduler.rebalance import (
    RebalanceInput,
    loads,
    loads_after,
    plan_rebalance,
    zone_of,
)


def agent(ident: str, alive: bool = True, up: bool = True, zone: str = "nova"
          ) -> AgentSnapshot:
    return AgentSnapshot(ident, f"host-{ident}", alive, up, 0, zone)


def on(*pairs: tuple[str, str]) -> dict[str, frozenset[str]]:
    grouped: dict[str, set[str]] = {}
    for network_id, agent_id in pairs:
        grouped.setdefault(network_id, set()).add(agent_id)
    return {n: frozenset(a) for n, a in grouped.items()}


def spread(counted: dict[str, int]) -> int:
    return max(counted.values()) - min(counted.values()) if counted else 0


# ---- examples ----------------------------------------------------------------------------

def test_a_third_agent_gets_its_share_in_the_fewest_moves() -> None:
    bindings = on(*[(f"n{i}", "a") for i in range(3)], *[(f"n{i}", "b") for i in range(3, 6)])
    data = RebalanceInput([agent("a"), agent("b"), agent("c")], bindings)
    moves = plan_rebalance(data)
    assert len(moves) == 2
    assert {m.to_agent for m in moves} == {"c"}
    assert {m.from_agent for m in moves} == {"a", "b"}
    assert loads_after(data, moves) == {"a": 2, "b": 2, "c": 2}


def test_balanced_agents_need_no_move() -> None:
    data = RebalanceInput([agent("a"), agent("b")], on(("n1", "a"), ("n2", "b"), ("n3", "a")))
    assert plan_rebalance(data) == []


def test_the_reason_says_from_where_to_where_and_why() -> None:
    data = RebalanceInput([agent("a"), agent("b")], on(("n1", "a"), ("n2", "a")))
    [move] = plan_rebalance(data)
    assert move.reason == "evens out load (networks): host-a 2 -> 1, host-b 0 -> 1"


def test_dead_and_disabled_agents_take_nothing_and_give_nothing() -> None:
    bindings = on(("n1", "a"), ("n2", "a"), ("n3", "a"), ("n4", "a"),
                  ("d1", "dead"), ("d2", "dead"), ("d3", "dead"))
    data = RebalanceInput([agent("a"), agent("dead", alive=False), agent("off", up=False),
                           agent("b")], bindings)
    moves = plan_rebalance(data)
    assert [(m.from_agent, m.to_agent) for m in moves] == [("a", "b"), ("a", "b")]


def test_a_network_never_moves_to_an_agent_already_hosting_it() -> None:
    # Both of a's networks are on b too: the only way to even out is via c.
    bindings = on(("n1", "a"), ("n1", "b"), ("n2", "a"), ("n2", "b"), ("n3", "a"))
    data = RebalanceInput([agent("a"), agent("b"), agent("c")], bindings,
                          dhcp_agents_per_network=2)
    moves = plan_rebalance(data)
    for move in moves:
        assert move.to_agent not in bindings[move.network_id] or move.to_agent == "c"
    assert spread(loads_after(data, moves)) <= 1


def test_a_network_only_goes_where_its_segment_reaches() -> None:
    bindings = on(("n1", "a"), ("n2", "a"), ("n3", "a"), ("n4", "a"))
    allowed = {n: frozenset({"a"}) for n in ("n1", "n2", "n3")}
    data = RebalanceInput([agent("a"), agent("b")], bindings, allowed=allowed)
    moves = plan_rebalance(data)
    assert [(m.network_id, m.to_agent) for m in moves] == [("n4", "b")]


def test_weights_move_the_network_that_evens_out_best() -> None:
    # ports: a carries 10 + 4 + 1; moving the 4 gives 11/4... the 10 would overshoot.
    bindings = on(("big", "a"), ("mid", "a"), ("small", "a"), ("other", "b"))
    weights = {"big": 10, "mid": 4, "small": 1, "other": 3}
    data = RebalanceInput([agent("a"), agent("b")], bindings, weights, load_type="ports")
    moves = plan_rebalance(data)
    assert [m.network_id for m in moves] == ["mid", "small"]
    assert loads_after(data, moves) == {"a": 10, "b": 8}


def test_a_network_with_no_weight_is_left_alone() -> None:
    bindings = on(("empty1", "a"), ("empty2", "a"))
    data = RebalanceInput([agent("a"), agent("b")], bindings, {"empty1": 0, "empty2": 0},
                          load_type="ports")
    assert plan_rebalance(data) == []


def test_no_second_copy_in_a_zone_while_another_zone_has_a_candidate() -> None:
    # n1..n4 on a (z1) and b (z2). c (z1) and d (z2) are empty: a's copies may only go to c
    # (z1 stays covered once), b's only to d.
    bindings = on(*[(f"n{i}", "a") for i in range(4)], *[(f"n{i}", "b") for i in range(4)])
    data = RebalanceInput([agent("a", zone="z1"), agent("b", zone="z2"),
                           agent("c", zone="z1"), agent("d", zone="z2")], bindings,
                          dhcp_agents_per_network=2)
    moves = plan_rebalance(data)
    zone = {"a": "z1", "b": "z2", "c": "z1", "d": "z2"}
    assert all(zone[m.from_agent] == zone[m.to_agent] for m in moves)
    assert loads_after(data, moves) == {"a": 2, "b": 2, "c": 2, "d": 2}


def test_the_limit_caps_the_plan() -> None:
    bindings = on(*[(f"n{i}", "a") for i in range(10)])
    data = RebalanceInput([agent("a"), agent("b")], bindings)
    assert len(plan_rebalance(data, limit=2)) == 2
    assert len(plan_rebalance(data)) == 5


# ---- properties --------------------------------------------------------------------------

ZONES = ("z1", "z2", "z3")


@st.composite
def scenarios(draw: st.DrawFn, zones: tuple[str, ...] = ZONES, weighted: bool = True,
              reach: bool = True, per_network_max: int = 3) -> RebalanceInput:
    count = draw(st.integers(1, 6))
    agents = [AgentSnapshot(f"a{i}", f"h{i}", draw(st.booleans() | st.just(True)),
                            draw(st.booleans() | st.just(True)), 0, draw(st.sampled_from(zones)))
              for i in range(count)]
    per_network = draw(st.integers(1, per_network_max))
    networks = draw(st.integers(0, 25))
    ids = [a.id for a in agents]
    bindings = {}
    for n in range(networks):
        hosts = draw(st.lists(st.sampled_from(ids), min_size=1,
                              max_size=min(per_network, count), unique=True))
        bindings[f"n{n}"] = frozenset(hosts)
    weights = {n: draw(st.integers(0, 6)) for n in bindings} if weighted else {}
    allowed = None
    if reach and draw(st.booleans()):
        allowed = {n: frozenset(draw(st.lists(st.sampled_from(ids), unique=True)))
                   for n in bindings if draw(st.booleans())}
    return RebalanceInput(agents, bindings, weights, allowed, per_network)


def replay(data: RebalanceInput) -> None:
    """Check every move against the rules, on the bindings as the moves before left them."""
    by_id = {a.id: a for a in data.agents}
    hosts = {n: set(h) for n, h in data.bindings.items()}
    moves = plan_rebalance(data)
    for move in moves:
        target, source = by_id[move.to_agent], by_id[move.from_agent]
        assert eligible(target) and eligible(source)
        assert move.from_agent in hosts[move.network_id]
        assert move.to_agent not in hosts[move.network_id]
        if data.allowed is not None and move.network_id in data.allowed:
            assert move.to_agent in data.allowed[move.network_id]
        others = hosts[move.network_id] - {move.from_agent}
        used = {zone_of(by_id[a]) for a in others}
        if zone_of(target) in used:
            free = [a for a in data.agents if eligible(a) and a.id not in hosts[move.network_id]
                    and zone_of(a) not in used
                    and (data.allowed is None or move.network_id not in data.allowed
                         or a.id in data.allowed[move.network_id])]
            assert not free, f"{move} doubles a zone while {free} could take it"
        hosts[move.network_id] = others | {move.to_agent}
        assert len(hosts[move.network_id]) <= max(data.dhcp_agents_per_network,
                                                  len(data.bindings[move.network_id]))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_move_follows_the_rules(data: RebalanceInput) -> None:
    replay(data)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_the_spread_never_grows_and_a_second_plan_is_empty(data: RebalanceInput) -> None:
    moves = plan_rebalance(data)
    after = loads_after(data, moves)
    assert spread(after) <= spread(loads(data))
    assert sum(after.values()) == sum(loads(data).values())
    applied = {n: set(h) for n, h in data.bindings.items()}
    for move in moves:
        applied[move.network_id].discard(move.from_agent)
        applied[move.network_id].add(move.to_agent)
    again = RebalanceInput(data.agents, {n: frozenset(h) for n, h in applied.items()},
                           data.weights, data.allowed, data.dhcp_agents_per_network)
    assert plan_rebalance(again) == []
    assert plan_rebalance(data) == moves  # the same on every replica


def fewest_moves(counted: dict[str, int]) -> int:
    """With one copy per network and nothing in the way: the heaviest keep the extra one."""
    total, agents = sum(counted.values()), len(counted)
    if not agents:
        return 0
    base, extra = divmod(total, agents)
    ranked = sorted(counted.values(), reverse=True)
    return sum(max(0, load - (base + 1 if i < extra else base)) for i, load in enumerate(ranked))


@settings(max_examples=150, deadline=None)
@given(scenarios(zones=("nova",), weighted=False, reach=False, per_network_max=1))
def test_simple_cases_are_evened_out_in_the_fewest_moves(data: RebalanceInput) -> None:
    moves = plan_rebalance(data)
    after = loads_after(data, moves)
    assert spread(after) <= 1
    assert len(moves) == fewest_moves(loads(data))
    # Nothing moves twice, and no agent both gives and takes.
    assert max(Counter(m.network_id for m in moves).values(), default=0) <= 1
    assert not {m.from_agent for m in moves} & {m.to_agent for m in moves}
