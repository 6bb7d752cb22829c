"""Availability zones on the real server (SQLite, PostgreSQL, MariaDB): the extensions, the
zone list and its filters, networks' availability_zone_hints (validated, stored by
migration 0010) and availability_zones, and scheduling and failover spread over zones.

Agents register by report_state over the real HTTP transport (tests/support/agents.py),
with their L2 agents so that they may be scheduled. Each test first disables the DHCP
agents of the tests before it, so that only its own agents take its networks."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.agents import Hosts, agent_client, dhcp_state, l2_state
from tests.support.server import RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

DOWN_TIME = 4  # heartbeats every 0.3 s: a loaded CI machine must not miss a whole one


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN_TIME, dhcp_agents_per_network=2)
    with running_server(settings) as running:
        yield running


@pytest.fixture
def admin(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client("admin") as client:
        for agent in client.get("/v2.0/agents", params={"agent_type": "DHCP agent"}
                                ).json()["agents"]:
            client.put(f"/v2.0/agents/{agent['id']}",
                       json={"agent": {"admin_state_up": False}}).raise_for_status()
        yield client


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def start_hosts(hosts: Hosts, zones: dict[str, str]) -> dict[str, str]:
    """host -> zone; each gets an L2 agent and a DHCP agent in its zone. host -> agent id."""
    return {host: hosts.start(host, l2_state(host), zone) for host, zone in zones.items()}


def network(admin: httpx.Client, cidr: str, **attrs: Any) -> dict[str, Any]:
    net = admin.post("/v2.0/networks", json={"network": {"name": unique("az"), **attrs}})
    assert net.status_code == 201, net.text
    body: dict[str, Any] = net.json()["network"]
    admin.post("/v2.0/subnets", json={"subnet": {"network_id": body["id"], "cidr": cidr,
                                                 "ip_version": 4}}).raise_for_status()
    return body


def hosting(admin: httpx.Client, network_id: str) -> list[str]:
    agents = admin.get(f"/v2.0/networks/{network_id}/dhcp-agents").json()["agents"]
    return sorted(a["host"] for a in agents)


def test_both_extensions_are_listed_with_neutrons_names(admin: httpx.Client) -> None:
    listed = {e["alias"]: e for e in admin.get("/v2.0/extensions").json()["extensions"]}
    assert listed["availability_zone"]["name"] == "Availability Zone"
    assert listed["network_availability_zone"]["name"] == "Network Availability Zone"
    shown = admin.get("/v2.0/extensions/network_availability_zone").json()["extension"]
    assert shown["description"] == "Availability zone support for network."


def test_zones_are_listed_with_their_state_and_filtered(server: RunningServer,
                                                        admin: httpx.Client) -> None:
    up, off = unique("zone-up"), unique("zone-off")
    with Hosts(server) as hosts:
        ids = start_hosts(hosts, {unique("h-up"): up, unique("h-off"): off})
        off_agent = ids[next(h for h in ids if h.startswith("h-off"))]
        admin.put(f"/v2.0/agents/{off_agent}",
                  json={"agent": {"admin_state_up": False}}).raise_for_status()
        with server.client("member") as member:  # any user may list zones, as in Neutron
            zones = member.get("/v2.0/availability_zones").json()["availability_zones"]
        mine = {z["name"]: z for z in zones if z["name"] in (up, off)}
        assert mine == {up: {"name": up, "resource": "network", "state": "available"},
                        off: {"name": off, "resource": "network", "state": "unavailable"}}
        # L2 agents' zones are not network zones.
        assert all(z["resource"] == "network" for z in zones)

        available = admin.get("/v2.0/availability_zones", params={"state": "available"}
                              ).json()["availability_zones"]
        assert up in [z["name"] for z in available] and off not in [z["name"] for z in available]
        named = admin.get("/v2.0/availability_zones", params={"name": off, "fields": "state"}
                          ).json()["availability_zones"]
        assert named == [{"state": "unavailable"}]
        routers = admin.get("/v2.0/availability_zones", params={"resource": "router"}
                            ).json()["availability_zones"]
        assert routers == []


def test_a_network_gets_one_agent_per_zone_before_a_second_in_any(
        server: RunningServer, admin: httpx.Client) -> None:
    zone_a, zone_b = unique("a"), unique("b")
    with Hosts(server) as hosts:
        a1, a2, b1 = unique("a1"), unique("a2"), unique("b1")
        start_hosts(hosts, {a1: zone_a, a2: zone_a, b1: zone_b})
        # Zone b's only agent carries a network first, so that least-loaded alone would
        # choose both idle agents of zone a.
        first = network(admin, "10.71.0.0/24", availability_zone_hints=[zone_b])
        assert hosting(admin, first["id"]) == [b1]
        net = network(admin, "10.71.1.0/24")
        hosts_of = hosting(admin, net["id"])
        assert len(hosts_of) == 2 and b1 in hosts_of, hosts_of
        shown = admin.get(f"/v2.0/networks/{net['id']}").json()["network"]
        assert shown["availability_zones"] == sorted([zone_a, zone_b])
        assert shown["availability_zone_hints"] == []
        listed = {n["id"]: n for n in admin.get("/v2.0/networks").json()["networks"]}
        assert listed[first["id"]]["availability_zones"] == [zone_b]
        assert listed[first["id"]]["availability_zone_hints"] == [zone_b]


def test_hints_keep_a_network_in_its_zones(server: RunningServer,
                                           admin: httpx.Client) -> None:
    zone_a, zone_b = unique("a"), unique("b")
    with Hosts(server) as hosts:
        a1, a2, b1 = unique("a1"), unique("a2"), unique("b1")
        ids = start_hosts(hosts, {a1: zone_a, a2: zone_a, b1: zone_b})
        net = network(admin, "10.72.0.0/24", availability_zone_hints=[zone_a])
        assert hosting(admin, net["id"]) == sorted([a1, a2])
        shown = admin.get(f"/v2.0/networks/{net['id']}").json()["network"]
        assert shown["availability_zone_hints"] == [zone_a]
        assert shown["availability_zones"] == [zone_a]
        on_agent = admin.get(f"/v2.0/agents/{ids[a1]}/dhcp-networks").json()["networks"]
        assert [n["availability_zones"] for n in on_agent if n["id"] == net["id"]] == \
            [[zone_a]]


def test_hints_must_name_existing_zones_and_cannot_change(server: RunningServer,
                                                          admin: httpx.Client) -> None:
    zone = unique("z")
    with Hosts(server) as hosts:
        start_hosts(hosts, {unique("h"): zone})
        before = len(admin.get("/v2.0/networks").json()["networks"])
        missing = admin.post("/v2.0/networks", json={"network": {
            "availability_zone_hints": [zone, "no-such-zone"]}})
        # Neutron answers an unknown zone with its AvailabilityZoneNotFound, a 404.
        assert missing.status_code == 404, missing.text
        error = missing.json()["NeutronError"]
        assert error["type"] == "AvailabilityZoneNotFound"
        assert error["message"] == "AvailabilityZone no-such-zone could not be found."
        for bad, reason in (([zone, zone], "Duplicate"), (["a,b"], "comma"),
                            ([""], "empty"), (["z" * 128, "y" * 128], "Too many")):
            refused = admin.post("/v2.0/networks",
                                 json={"network": {"availability_zone_hints": bad}})
            assert refused.status_code == 400, refused.text
            assert reason in refused.json()["NeutronError"]["message"]
        assert len(admin.get("/v2.0/networks").json()["networks"]) == before
        net = admin.post("/v2.0/networks", json={"network": {
            "availability_zone_hints": [zone]}}).json()["network"]
        changed = admin.put(f"/v2.0/networks/{net['id']}",
                            json={"network": {"availability_zone_hints": []}})
        assert changed.status_code == 400 and "read-only" in changed.text
        assert admin.get(f"/v2.0/networks/{net['id']}").json()["network"][
            "availability_zone_hints"] == [zone]


def test_failover_replaces_a_dead_agent_in_its_own_zone(server: RunningServer,
                                                        admin: httpx.Client) -> None:
    zone_a, zone_b = unique("a"), unique("b")
    with Hosts(server) as hosts:
        a1, a2, b1 = unique("a1"), unique("a2"), unique("b1")
        start_hosts(hosts, {a1: zone_a, a2: zone_a, b1: zone_b})
        net = network(admin, "10.73.0.0/24")
        before = hosting(admin, net["id"])
        assert b1 in before and len(before) == 2, before
        dead = next(h for h in before if h != b1)
        other = a2 if dead == a1 else a1
        hosts.silence(dead)
        wait_until(lambda: hosting(admin, net["id"]) == sorted([other, b1]),
                   DOWN_TIME + 10, 0.2, f"{net['id']} moved from {dead} to {other}")


def test_agent_load_is_what_a_dhcp_agent_reports(server: RunningServer,
                                                 admin: httpx.Client) -> None:
    host = unique("loaded")
    client = agent_client(server)
    agent_id = client.report_state(dhcp_state(host, start=True, networks=2)).agent_id
    l2_id = client.report_state(l2_state(host, start=True)).agent_id

    def load(ident: str) -> int:
        return int(admin.get(f"/v2.0/agents/{ident}").json()["agent"]["load"])

    assert load(agent_id) == 2 and load(l2_id) == 0
    client.report_state(dhcp_state(host, networks=5))  # routine: written by a later flush
    wait_until(lambda: load(agent_id) == 5, 15, 0.1, "the reported load recorded")
    listed = admin.get("/v2.0/agents", params={"host": host, "sort_key": "load",
                                               "sort_dir": "desc", "limit": 1}).json()
    assert [a["id"] for a in listed["agents"]] == [agent_id]
