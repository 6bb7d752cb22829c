"""The L2-reach rule (scheduler/reach.py) and its use by failover, on plain data."""
from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from neutrino.scheduler.placement import AgentSnapshot, plan_failover
from neutrino.scheduler.reach import (
    ALWAYS,
    AUTO,
    NEVER,
    L2Reach,
    SegmentView,
    can_carry,
    filter_applies,
    reach_from,
    reachable_agents,
)


def dhcp(agent_id: str, host: str, load: int = 0, alive: bool = True) -> AgentSnapshot:
    return AgentSnapshot(agent_id, host, alive, True, load)


def test_reported_configurations_are_read() -> None:
    lb = reach_from("h1", {"interface_mappings": {"physnet1": "eth0"}, "physnet1": "eth0",
                           "tunnel_types": ["vxlan"], "tunneling_ip": "192.0.2.1"})
    assert lb == L2Reach("h1", frozenset({"physnet1"}), True)
    ovs_like = reach_from("h2", {"bridge_mappings": {"ext": "br-ex"}})
    assert ovs_like == L2Reach("h2", frozenset({"ext"}), False)
    # Garbage or nothing reported: reaches nothing but local networks.
    for conf in (None, {}, {"interface_mappings": "eth0", "tunnel_types": "vxlan"}):
        nothing = reach_from("h3", conf)
        assert nothing.physnets == frozenset() and not nothing.vxlan
        assert can_carry(nothing, SegmentView("local"))
        assert not can_carry(nothing, SegmentView("vxlan"))


def test_segment_types() -> None:
    reach = L2Reach("h", frozenset({"physnet1"}), False)
    assert can_carry(reach, SegmentView("vlan", "physnet1"))
    assert can_carry(reach, SegmentView("flat", "physnet1"))
    assert not can_carry(reach, SegmentView("vlan", "physnet2"))
    assert not can_carry(reach, SegmentView("flat", None))
    assert not can_carry(reach, SegmentView("vxlan"))
    assert not can_carry(reach, SegmentView("gre"))


def test_filter_modes() -> None:
    assert not filter_applies(AUTO, 0) and filter_applies(AUTO, 1)
    assert filter_applies(ALWAYS, 0) and filter_applies(ALWAYS, 3)
    assert not filter_applies(NEVER, 0) and not filter_applies(NEVER, 3)


physnets = st.frozensets(st.sampled_from(["p1", "p2", "p3"]))
reaches = st.lists(st.builds(L2Reach, st.sampled_from(["h1", "h2", "h3", "h4"]), physnets,
                             st.booleans()), max_size=6)
segments = st.one_of(st.builds(SegmentView, st.just("vxlan")),
                     st.builds(SegmentView, st.sampled_from(["vlan", "flat"]),
                               st.sampled_from(["p1", "p2", "p3"])))


@given(reaches, segments)
def test_only_hosts_whose_l2_agent_carries_the_segment(live: list[L2Reach],
                                                       segment: SegmentView) -> None:
    agents = [dhcp(f"a{i}", f"h{i}") for i in range(1, 6)]  # h5 never has an L2 agent
    chosen = reachable_agents(agents, live, segment)
    for agent in agents:
        carried = any(r.host == agent.host and (
            r.vxlan if segment.network_type == "vxlan"
            else segment.physical_network in r.physnets) for r in live)
        assert (agent.id in chosen) == carried
    assert "a5" not in chosen


@given(reaches, segments, st.integers(0, 10), st.integers(0, 10))
def test_failover_never_targets_an_unreachable_agent(live: list[L2Reach],
                                                     segment: SegmentView, load2: int,
                                                     load3: int) -> None:
    agents = [dhcp("dead", "h1", alive=False), dhcp("a2", "h2", load2),
              dhcp("a3", "h3", load3)]
    allowed = {"n": reachable_agents(agents, live, segment)}
    moves = plan_failover([("n", "dead")], agents, {"dead"}, random.Random(1), allowed)
    assert all(m.to_agent in allowed["n"] for m in moves)
    # A move happens exactly when a live agent can take it.
    assert bool(moves) == bool(allowed["n"] & {"a2", "a3"})


def test_failover_prefers_reach_over_load() -> None:
    agents = [dhcp("dead", "h1", alive=False), dhcp("busy", "h2", 9), dhcp("idle", "h3", 0)]
    moves = plan_failover([("n", "dead"), ("m", "dead")], agents, {"dead"},
                          random.Random(0), {"n": {"busy"}})
    assert {(m.network_id, m.to_agent) for m in moves} == {("n", "busy"), ("m", "idle")}
