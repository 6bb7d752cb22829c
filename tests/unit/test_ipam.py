"""IPAM: subnet planning, free addresses and MACs, over plain data."""
from __future__ import annotations

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino import ipam
from neutrino.errors import InvalidInput


def _pools(plan: ipam.SubnetPlan) -> list[tuple[str, str]]:
    return [(p.start, p.end) for p in plan.pools]


def test_plan_defaults_gateway_to_first_host_and_pool_to_the_rest() -> None:
    plan = ipam.plan_subnet("10.0.0.0/24")
    assert plan.cidr == "10.0.0.0/24" and plan.ip_version == 4
    assert plan.gateway_ip == "10.0.0.1"
    assert _pools(plan) == [("10.0.0.2", "10.0.0.254")]


@pytest.mark.parametrize(("cidr", "network"), [("10.0.0.77/24", "10.0.0.0/24"),
                                               ("9.2.9.1/24", "9.2.9.0/24"),
                                               ("2001:db8::1/64", "2001:db8::/64")])
def test_plan_refuses_a_cidr_with_host_bits_as_neutron_does(cidr: str, network: str) -> None:
    with pytest.raises(InvalidInput, match=f"'{cidr}' is not a valid CIDR: host bits are set; "
                                           f"the network is {network}"):
        ipam.plan_subnet(cidr, 6 if ":" in cidr else 4)


def test_plan_keeps_a_cidr_written_in_another_spelling() -> None:
    assert ipam.plan_subnet("2001:DB8:0::/64", 6).cidr == "2001:db8::/64"


def test_plan_without_gateway_pools_every_host() -> None:
    plan = ipam.plan_subnet("10.0.0.0/29", gateway_ip=None)
    assert plan.gateway_ip is None
    assert _pools(plan) == [("10.0.0.1", "10.0.0.6")]


def test_plan_gateway_in_the_middle_splits_the_default_pool() -> None:
    plan = ipam.plan_subnet("10.0.0.0/28", gateway_ip="10.0.0.5")
    assert _pools(plan) == [("10.0.0.1", "10.0.0.4"), ("10.0.0.6", "10.0.0.14")]


def test_plan_gateway_at_last_host_leaves_one_pool() -> None:
    plan = ipam.plan_subnet("10.0.0.0/28", gateway_ip="10.0.0.14")
    assert _pools(plan) == [("10.0.0.1", "10.0.0.13")]


def test_plan_keeps_explicit_pools_sorted() -> None:
    plan = ipam.plan_subnet("10.0.0.0/24", pools=[{"start": "10.0.0.100", "end": "10.0.0.110"},
                                                  {"start": "10.0.0.10", "end": "10.0.0.20"}])
    assert _pools(plan) == [("10.0.0.10", "10.0.0.20"), ("10.0.0.100", "10.0.0.110")]


def test_plan_smallest_v4_subnet_has_one_pool_address() -> None:
    plan = ipam.plan_subnet("10.0.0.0/30")
    assert plan.gateway_ip == "10.0.0.1"
    assert _pools(plan) == [("10.0.0.2", "10.0.0.2")]


def test_plan_v6_uses_every_address_after_the_subnet_router_anycast() -> None:
    plan = ipam.plan_subnet("2001:db8::/64", 6)
    assert plan.ip_version == 6 and plan.gateway_ip == "2001:db8::1"
    assert _pools(plan) == [("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")]


@pytest.mark.parametrize(("cidr", "version", "words"), [
    ("10.0.0.0/33", 4, "10.0.0.0/33"),
    ("foo", 4, "'foo' is not a valid CIDR"),
    ("10.0.0.1", 4, "prefix length"),
    ("", 4, "not a valid CIDR"),
    ("10.0.0.0/31", 4, "too small"),
    ("10.0.0.0/24", 6, "not an IPv6 network"),
    ("2001:db8::/64", 4, "not an IPv4 network"),
    ("2001:db8::/127", 6, "too small"),
])
def test_plan_rejects_bad_cidrs(cidr: str, version: int, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        ipam.plan_subnet(cidr, version)


@pytest.mark.parametrize(("gateway", "words"), [
    ("10.0.1.1", "not a usable host address"),
    ("10.0.0.0", "not a usable host address"),
    ("10.0.0.255", "not a usable host address"),
    ("bogus", "'bogus' is not a valid gateway_ip"),
    ("2001:db8::1", "not a usable host address"),
])
def test_plan_rejects_gateway_outside_the_subnet(gateway: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        ipam.plan_subnet("10.0.0.0/24", gateway_ip=gateway)


@pytest.mark.parametrize(("pools", "words"), [
    ([{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "10.0.0.20", "end": "10.0.0.30"}],
     "overlap"),
    ([{"start": "10.0.0.10", "end": "10.0.0.50"}, {"start": "10.0.0.20", "end": "10.0.0.30"}],
     "overlap"),
    ([{"start": "10.0.1.10", "end": "10.0.1.20"}], "outside the usable addresses"),
    ([{"start": "10.0.0.200", "end": "10.0.0.255"}], "outside the usable addresses"),
    ([{"start": "10.0.0.20", "end": "10.0.0.10"}], "start is after end"),
    ([{"start": "10.0.0.1", "end": "10.0.0.10"}], "Gateway 10.0.0.1 is inside allocation pool"),
    ([{"start": "nope", "end": "10.0.0.10"}], "allocation pool start"),
    ([{"start": "10.0.0.2"}], "exactly 'start' and 'end'"),
    (["10.0.0.2-10.0.0.9"], "exactly 'start' and 'end'"),
    ([{"start": "2001:db8::2", "end": "2001:db8::9"}], "not of IP version 4"),
])
def test_plan_rejects_bad_pools(pools: list[dict[str, str]], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        ipam.plan_subnet("10.0.0.0/24", pools=pools)


def test_free_addresses_skip_used_and_come_lowest_first() -> None:
    pools = [{"start": "10.0.0.20", "end": "10.0.0.21"}, {"start": "10.0.0.2", "end": "10.0.0.4"}]
    assert list(ipam.free_addresses(pools, {"10.0.0.3", "10.0.0.20"})) == \
        ["10.0.0.2", "10.0.0.4", "10.0.0.21"]


def test_free_addresses_match_used_v6_in_any_spelling() -> None:
    pools = [{"start": "2001:db8::2", "end": "2001:db8::3"}]
    assert list(ipam.free_addresses(pools, {"2001:0db8:0000::0002"})) == ["2001:db8::3"]


def test_free_addresses_of_a_full_pool_are_none() -> None:
    assert list(ipam.free_addresses([{"start": "10.0.0.2", "end": "10.0.0.2"}],
                                    {"10.0.0.2"})) == []


def test_in_pools() -> None:
    pools = [{"start": "10.0.0.2", "end": "10.0.0.9"}]
    assert ipam.in_pools("10.0.0.9", pools) and not ipam.in_pools("10.0.0.10", pools)


def test_cidrs_overlap_only_within_one_ip_version() -> None:
    assert ipam.cidrs_overlap("10.0.0.0/16", "10.0.5.0/24")
    assert not ipam.cidrs_overlap("10.0.0.0/24", "10.0.1.0/24")
    assert not ipam.cidrs_overlap("10.0.0.0/24", "2001:db8::/64")


@pytest.mark.parametrize("mac", ["fa:16:3e:00:00:01", "FA:16:3E:AB:CD:EF", "02:00:00:00:00:00"])
def test_validate_mac_accepts_unicast_and_lowercases(mac: str) -> None:
    assert ipam.validate_mac(mac) == mac.lower()


@pytest.mark.parametrize(("mac", "words"), [
    ("fa:16:3e:00:00", "not a valid MAC"),
    ("fa-16-3e-00-00-01", "not a valid MAC"),
    ("fa:16:3e:00:00:0g", "not a valid MAC"),
    ("fa:16:3e:00:00:001", "not a valid MAC"),
    ("", "not a valid MAC"),
    (12, "not a valid MAC"),
    ("01:00:5e:00:00:01", "multicast"),
    ("ff:ff:ff:ff:ff:ff", "multicast"),
    ("00:00:00:00:00:00", "not allowed"),
])
def test_validate_mac_rejects(mac: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        ipam.validate_mac(mac)  # type: ignore[arg-type]


@given(st.randoms(use_true_random=False))
def test_random_mac_keeps_base_mac_prefix_and_is_valid(rng: random.Random) -> None:
    mac = ipam.random_mac("fa:16:3e:00:00:00", rng)
    assert mac.startswith("fa:16:3e:")
    assert ipam.validate_mac(mac) == mac


@given(st.randoms(use_true_random=False))
def test_random_mac_keeps_non_zero_fourth_octet_of_base_mac(rng: random.Random) -> None:
    assert ipam.random_mac("fa:16:3e:4f:00:00", rng).startswith("fa:16:3e:4f:")


def test_random_mac_varies() -> None:
    rng = random.Random(7)
    assert len({ipam.random_mac("fa:16:3e:00:00:00", rng) for _ in range(50)}) > 40


@pytest.mark.parametrize(("route", "words"), [
    ({"destination": "10.0.2.1/24", "nexthop": "10.0.0.1"}, "not a valid CIDR"),
    ({"destination": "10.0.2.0/24", "nexthop": "x"}, "host route nexthop"),
    ({"destination": "10.0.2.0/24"}, "exactly 'destination' and 'nexthop'"),
])
def test_validate_route_rejects(route: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        ipam.validate_route(route)


def test_validate_route_normalises() -> None:
    assert ipam.validate_route({"destination": "2001:db8:0::/64", "nexthop": "2001:db8::0001"}) \
        == {"destination": "2001:db8::/64", "nexthop": "2001:db8::1"}


@st.composite
def subnets_with_use(draw: st.DrawFn) -> tuple[ipam.SubnetPlan, set[str], int]:
    prefix = draw(st.integers(min_value=25, max_value=30))
    third = draw(st.integers(min_value=0, max_value=255))
    net = ipaddress.ip_network(f"10.1.{third}.0/{prefix}")
    hosts = [str(h) for h in net.hosts()]
    gateway = draw(st.one_of(st.none(), st.sampled_from(hosts)))
    plan = ipam.plan_subnet(str(net), 4, gateway)
    used = set(draw(st.lists(st.sampled_from(hosts), max_size=20)))
    wanted = draw(st.integers(min_value=1, max_value=80))
    return plan, used, wanted


@settings(deadline=None)  # each step rescans the pools, as the port service does
@given(subnets_with_use())
def test_allocating_repeatedly_never_duplicates_nor_hands_out_the_gateway(
        case: tuple[ipam.SubnetPlan, set[str], int]) -> None:
    plan, used, wanted = case
    pools = [p.as_dict() for p in plan.pools]
    taken = set(used)
    handed: list[str] = []
    for _ in range(wanted):
        address = next(ipam.free_addresses(pools, taken), None)
        if address is None:
            break
        assert address not in taken
        assert address != plan.gateway_ip
        assert ipam.in_pools(address, pools)
        taken.add(address)
        handed.append(address)
    assert len(handed) == len(set(handed))
    capacity = sum(int(ipaddress.ip_address(p.end)) - int(ipaddress.ip_address(p.start)) + 1
                   for p in plan.pools)
    free_at_start = capacity - len({u for u in used if ipam.in_pools(u, pools)})
    assert len(handed) == min(wanted, free_at_start)
