"""IPv6 subnets and dual-stack ports through the real API, on SQLite, PostgreSQL and MariaDB:
the modes Neutron accepts, EUI-64 addresses, pools on stateful subnets, and every bad
combination refused with a 4xx NeutronError and the database unchanged."""
from __future__ import annotations

from typing import Any

import pytest

from neutrino import ipv6
from tests.support.server import RunningServer, body_of

SLAAC_CIDR, STATEFUL_CIDR, V4_CIDR = "2001:db8:71::/64", "2001:db8:72::/64", "10.71.0.0/24"


@pytest.fixture(scope="module")
def world(server: RunningServer) -> dict[str, Any]:
    """One network with a v4, a SLAAC and a DHCPv6-stateful subnet, and one with v4 only."""
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "v6-net"}}))["network"]
        v4 = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": V4_CIDR, "ip_version": 4}}))["subnet"]
        slaac = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": SLAAC_CIDR, "ip_version": 6,
            "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac"}}))["subnet"]
        stateful = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": STATEFUL_CIDR, "ip_version": "6",
            "ipv6_address_mode": "dhcpv6-stateful"}}))["subnet"]
        other = body_of(c.post("/v2.0/networks", json={"network": {"name": "v4-net"}}))["network"]
        body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": other["id"], "cidr": "10.72.0.0/24"}}))
    return {"net": net, "v4": v4, "slaac": slaac, "stateful": stateful, "other": other}


def test_v6_subnet_defaults_gateway_to_1_and_pools_the_rest(world: dict[str, Any]) -> None:
    stateful = world["stateful"]
    assert stateful["ip_version"] == 6
    assert stateful["gateway_ip"] == "2001:db8:72::1"
    assert stateful["allocation_pools"] == [
        {"start": "2001:db8:72::2", "end": "2001:db8:72:0:ffff:ffff:ffff:ffff"}]
    assert (stateful["ipv6_address_mode"], stateful["ipv6_ra_mode"]) == (
        "dhcpv6-stateful", None)
    assert (world["slaac"]["ipv6_address_mode"], world["slaac"]["ipv6_ra_mode"]) == (
        "slaac", "slaac")
    assert (world["v4"]["ipv6_address_mode"], world["v4"]["ipv6_ra_mode"]) == (None, None)


def test_port_gets_one_address_per_subnet_eui64_on_slaac(server: RunningServer,
                                                         world: dict[str, Any]) -> None:
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": world["net"]["id"], "mac_address": "fa:16:3e:71:00:01"}}))["port"]
        shown = body_of(c.get(f"/v2.0/ports/{port['id']}"))["port"]
    by_subnet = {f["subnet_id"]: f["ip_address"] for f in shown["fixed_ips"]}
    assert set(by_subnet) == {world["v4"]["id"], world["slaac"]["id"], world["stateful"]["id"]}
    assert by_subnet[world["slaac"]["id"]] == "2001:db8:71:0:f816:3eff:fe71:1"
    assert by_subnet[world["stateful"]["id"]] == "2001:db8:72::2"  # the pool's first
    assert by_subnet[world["v4"]["id"]].startswith("10.71.0.")


def test_fixed_ips_choose_the_subnets_and_the_own_eui64_is_accepted(
        server: RunningServer, world: dict[str, Any]) -> None:
    mac = "fa:16:3e:71:00:02"
    own = ipv6.eui64_address(SLAAC_CIDR, mac)
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": world["net"]["id"], "mac_address": mac,
            "fixed_ips": [{"subnet_id": world["slaac"]["id"], "ip_address": own}]}}))["port"]
        assert port["fixed_ips"] == [{"subnet_id": world["slaac"]["id"], "ip_address": own}]
        # An update that sends the addresses back unchanged (as clients do) is fine.
        again = body_of(c.put(f"/v2.0/ports/{port['id']}", json={"port": {
            "fixed_ips": port["fixed_ips"]}}))["port"]
        assert again["fixed_ips"] == port["fixed_ips"]


def test_a_new_mac_moves_the_eui64_address(server: RunningServer,
                                           world: dict[str, Any]) -> None:
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": world["net"]["id"], "mac_address": "fa:16:3e:71:00:03"}}))["port"]
        moved = body_of(c.put(f"/v2.0/ports/{port['id']}", json={"port": {
            "mac_address": "fa:16:3e:71:00:04"}}))["port"]
    before = {f["subnet_id"]: f["ip_address"] for f in port["fixed_ips"]}
    after = {f["subnet_id"]: f["ip_address"] for f in moved["fixed_ips"]}
    assert after[world["slaac"]["id"]] == ipv6.eui64_address(SLAAC_CIDR, "fa:16:3e:71:00:04")
    # Addresses not derived from the MAC stay where they were.
    assert after[world["stateful"]["id"]] == before[world["stateful"]["id"]]
    assert after[world["v4"]["id"]] == before[world["v4"]["id"]]


def test_a_new_slaac_subnet_addresses_the_existing_ports(server: RunningServer) -> None:
    cidr = "2001:db8:73::/64"
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "later"}}))["network"]
        body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.73.0.0/24"}}))
        port = body_of(c.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}))["port"]
        slaac = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": cidr, "ip_version": 6,
            "ipv6_address_mode": "slaac"}}))["subnet"]
        shown = body_of(c.get(f"/v2.0/ports/{port['id']}"))["port"]
    assert {"subnet_id": slaac["id"],
            "ip_address": ipv6.eui64_address(cidr, port["mac_address"])} in shown["fixed_ips"]
    assert len(shown["fixed_ips"]) == 2
    assert shown["revision_number"] > port["revision_number"]


def snapshot(server: RunningServer) -> dict[str, Any]:
    with server.client() as c:
        return {plural: body_of(c.get(f"/v2.0/{plural}"))[plural]
                for plural in ("networks", "subnets", "ports")}


def v6sub(**attrs: Any) -> dict[str, Any]:
    return {"subnet": {"network_id": "@other", "cidr": "2001:db8:79::/64", "ip_version": 6,
                       **attrs}}


BAD = [
    ("POST", "/v2.0/subnets", {"subnet": {"network_id": "@other", "cidr": "10.73.0.0/24",
                                          "ipv6_address_mode": "slaac"}}, 400,
     ["ip_version is 4"]),
    ("POST", "/v2.0/subnets", {"subnet": {"network_id": "@other", "cidr": "10.73.0.0/24",
                                          "ip_version": 4, "ipv6_ra_mode": "dhcpv6-stateful"}},
     400, ["ip_version is 4"]),
    ("POST", "/v2.0/subnets", v6sub(ipv6_ra_mode="slaac", ipv6_address_mode="dhcpv6-stateful"),
     400, ["'slaac'", "'dhcpv6-stateful'", "must be the same value"]),
    ("POST", "/v2.0/subnets", v6sub(ipv6_ra_mode="dhcpv6-stateless",
                                    ipv6_address_mode="slaac"), 400, ["must be the same"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="2001:db8:79::/80", ipv6_address_mode="slaac"), 400,
     ["2001:db8:79::/80", "/64"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="2001:db8:79::/56",
                                    ipv6_address_mode="dhcpv6-stateless"), 400, ["/64"]),
    ("POST", "/v2.0/subnets", v6sub(ipv6_address_mode="dhcpv6-stateful", enable_dhcp=False),
     400, ["enable_dhcp"]),
    ("POST", "/v2.0/subnets", v6sub(ipv6_address_mode="dhcpv6"), 400,
     ["ipv6_address_mode", "'dhcpv6'"]),
    ("POST", "/v2.0/subnets", v6sub(ipv6_ra_mode=6), 400, ["ipv6_ra_mode"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="2001:db8:79::1/64"), 400, ["host bits"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="2001:db8:::/64"), 400, ["not a valid CIDR"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="2001:db8:79::/129"), 400, ["CIDR"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="2001:db8:79::/127"), 400, ["too small"]),
    ("POST", "/v2.0/subnets", v6sub(cidr="10.74.0.0/24"), 400, ["not an IPv6 network"]),
    ("POST", "/v2.0/subnets", v6sub(cidr=SLAAC_CIDR, network_id="@net"), 400, ["overlaps"]),
    ("PUT", "/v2.0/subnets/@stateful", {"subnet": {"ipv6_address_mode": "slaac"}}, 400,
     ["read-only", "ipv6_address_mode"]),
    ("PUT", "/v2.0/subnets/@stateful", {"subnet": {"enable_dhcp": False}}, 400,
     ["enable_dhcp"]),
    ("POST", "/v2.0/ports", {"port": {"network_id": "@net", "fixed_ips": [
        {"subnet_id": "@slaac", "ip_address": "2001:db8:71::5"}]}}, 400,
     ["2001:db8:71::5", "automatic addresses"]),
    ("POST", "/v2.0/ports", {"port": {"network_id": "@net", "fixed_ips": [
        {"ip_address": "2001:db8:71::5"}]}}, 400, ["automatic addresses"]),
    ("POST", "/v2.0/ports", {"port": {"network_id": "@net", "fixed_ips": [
        {"subnet_id": "@stateful", "ip_address": "2001:db8:71::5"}]}}, 400,
     ["not a valid IP for subnet"]),
    ("POST", "/v2.0/ports", {"port": {"network_id": "@net", "fixed_ips": [
        {"subnet_id": "@stateful", "ip_address": "2001:db8:72::1"}]}}, 409, ["gateway"]),
]


def _fill(value: Any, world: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return world[value[1:]]["id"]
    if isinstance(value, str):
        for key, item in world.items():
            value = value.replace(f"@{key}", item["id"])
        return value
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), BAD,
                         ids=[f"{m} {p} {w[-1]}" for m, p, _b, _s, w in BAD])
def test_bad_ipv6_input_is_refused_and_changes_nothing(
        server: RunningServer, world: dict[str, Any], method: str, path: str, body: Any,
        status: int, words: list[str]) -> None:
    before = snapshot(server)
    with server.client() as c:
        response = c.request(method, _fill(path, world), json=_fill(body, world))
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert set(error) == {"type", "message", "detail"}
    assert error["message"].endswith("."), error["message"]
    for word in words:
        assert word in error["message"], error["message"]
    assert snapshot(server) == before
