"""Every API field gets invalid values: a 4xx NeutronError that says what was wrong, and the
database is left exactly as it was."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.agents import agent_client, register
from tests.support.databases import fresh_database
from tests.support.server import RunningServer, body_of, running_server, settings_for

MISSING = "6d1c4f3e-0000-4000-8000-00000000dead"
LONG = "n" * 256


@dataclass(frozen=True)
class World:
    """Resources the bad requests aim at; `ids` fills the @placeholders in a case."""

    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(server: RunningServer) -> World:
    l2, dhcp = register(agent_client(server), "bad-input-host")
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "bi-net"}}))["network"]
        sub = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.20.0.0/24", "name": "bi-sub"}}))["subnet"]
        port1 = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": net["id"], "mac_address": "fa:16:3e:aa:00:01",
            "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.20.0.10"}]}}))["port"]
        port2 = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": net["id"], "mac_address": "fa:16:3e:aa:00:02",
            "extra_dhcp_opts": [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"}]}}
                           ))["port"]
        net2 = body_of(c.post("/v2.0/networks", json={"network": {"name": "bi-net2"}}))["network"]
        sub2 = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net2["id"], "cidr": "10.30.0.0/24"}}))["subnet"]
        bare = body_of(c.post("/v2.0/networks", json={"network": {"name": "bi-bare"}}))["network"]
        full = body_of(c.post("/v2.0/networks", json={"network": {"name": "bi-full"}}))["network"]
        body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": full["id"], "cidr": "10.40.0.0/30", "enable_dhcp": False}}))
        body_of(c.post("/v2.0/ports", json={"port": {"network_id": full["id"]}}))
        # Hosted on the DHCP agent by now: the network has a DHCP-enabled subnet.
        hosted = c.get(f"/v2.0/networks/{net['id']}/dhcp-agents").json()["agents"]
        assert [a["id"] for a in hosted] == [dhcp.agent_id]
    return World({
        "@net2": net2["id"], "@net": net["id"], "@sub2": sub2["id"], "@sub": sub["id"],
        "@port1": port1["id"], "@port2": port2["id"], "@full": full["id"], "@bare": bare["id"],
        "@vni": str(net["provider:segmentation_id"]), "@dhcp": dhcp.agent_id,
        "@l2": l2.agent_id, "@missing": MISSING,
    })


def _fill_value(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for token, real in ids.items():
            value = value.replace(token, real)
        return value
    if isinstance(value, list):
        return [_fill_value(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill_value(v, ids) for k, v in value.items()}
    return value


def snapshot(server: RunningServer) -> dict[str, Any]:
    """Everything the API shows of networks, subnets, ports and agents (minus liveness)."""
    with server.client() as c:
        state: dict[str, Any] = {}
        for plural in ("networks", "subnets", "ports"):
            response = c.get(f"/v2.0/{plural}")
            assert response.status_code == 200, response.text
            state[plural] = response.json()[plural]
        agents = c.get("/v2.0/agents").json()["agents"]
        state["agents"] = [{k: v for k, v in a.items()
                            if k not in ("alive", "heartbeat_timestamp")} for a in agents]
        state["bindings"] = sorted(
            (a["id"], n["id"]) for a in agents if a["agent_type"] == "DHCP agent"
            for n in c.get(f"/v2.0/agents/{a['id']}/dhcp-networks").json()["networks"])
    return state


@dataclass(frozen=True)
class Raw:
    """A body sent as is, with its content type."""

    content: bytes
    content_type: str | None = "application/json"


Case = tuple[str, str, Any, int, list[str]]  # method, path, body, status, words in message


def case(method: str, path: str, body: Any, status: int, *words: str,
         who: str = "admin", name: str | None = None) -> Any:
    return pytest.param(who, (method, path, body, status, list(words)),
                        id=name or f"{method} {path} {words[0] if words else ''}")


def send(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    if isinstance(body, Raw):
        headers = {"Content-Type": body.content_type} if body.content_type else {}
        return client.request(method, path, content=body.content, headers=headers)
    return client.request(method, path, json=body)


NETWORK_CASES = [
    # dns-integration: a network's dns_domain is an FQDN of valid labels.
    case("POST", "/v2.0/networks", {"network": {"dns_domain": "example.org"}}, 400,
         "dns_domain", "FQDN"),
    case("POST", "/v2.0/networks", {"network": {"dns_domain": "exa_mple.org."}}, 400,
         "dns_domain", "exa_mple"),
    case("POST", "/v2.0/networks", {"network": {"dns_domain": "a" * 64 + ".org."}}, 400,
         "dns_domain", "63"),
    case("PUT", "/v2.0/networks/@net", {"network": {"dns_domain": ["x."]}}, 400,
         "dns_domain", "list"),
    case("POST", "/v2.0/networks", {"network": {"name": 5}}, 400, "name", "5", "not a string"),
    case("POST", "/v2.0/networks", {"network": {"name": ["a"]}}, 400, "name", "list"),
    case("POST", "/v2.0/networks", {"network": {"name": LONG}}, 400, "name",
         "maximum length of 255"),
    case("POST", "/v2.0/networks", {"network": {"description": LONG}}, 400, "description",
         "maximum length of 255"),
    case("POST", "/v2.0/networks", {"network": {"name": "a\x00b"}}, 400, "name", "NUL"),
    case("POST", "/v2.0/networks", {"network": {"admin_state_up": "yes"}}, 400,
         "admin_state_up", "'yes'", "boolean"),
    case("POST", "/v2.0/networks", {"network": {"admin_state_up": 1}}, 400, "admin_state_up"),
    case("POST", "/v2.0/networks", {"network": {"shared": "sometimes"}}, 400, "shared",
         "'sometimes'"),
    case("POST", "/v2.0/networks", {"network": {"mtu": "big"}}, 400, "mtu", "'big'",
         "not an integer"),
    case("POST", "/v2.0/networks", {"network": {"mtu": 20}}, 400, "mtu", "20",
         "68 through 65535"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": "nova"}}, 400,
         "availability_zone_hints", "not a list"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": [7]}}, 400,
         "availability_zone_hints", "not a string"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": ["a", "a"]}},
         400, "availability_zone_hints", "Duplicate"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": ["a,b"]}}, 400,
         "availability_zone_hints", "comma"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": [" "]}}, 400,
         "availability_zone_hints", "empty"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": ["z" * 200,
                                                                           "y" * 60]}},
         400, "availability_zone_hints", "Too many"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": ["z"] * 65}},
         400, "availability_zone_hints", "more than 64"),
    case("POST", "/v2.0/networks", {"network": {"availability_zone_hints": ["no-zone"]}},
         404, "AvailabilityZone no-zone could not be found"),
    case("POST", "/v2.0/networks", {"network": {"colour": "red"}}, 400,
         "Unrecognized attribute", "colour"),
    case("POST", "/v2.0/networks", {"network": {"tenant_id": "a", "project_id": "b"}}, 400,
         "tenant_id and project_id"),
    case("POST", "/v2.0/networks", {"network": {"tenant_id": LONG}}, 400, "tenant_id",
         "maximum length of 64"),
    case("POST", "/v2.0/networks", {"network": {"provider:network_type": "gre"}}, 400,
         "provider:network_type", "'gre'", "vlan, vxlan, flat or local"),
    case("POST", "/v2.0/networks", {"network": {"provider:network_type": 7}}, 400,
         "provider:network_type", "not a string"),
    case("POST", "/v2.0/networks", {"network": {"provider:segmentation_id": 1234}}, 400,
         "provider:network_type is required"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 5000}}, 400, "VLAN id 5000", "1-4094"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "vlan", "provider:segmentation_id": 100}}, 400,
         "provider:physical_network is required", "vlan"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "vxlan", "provider:physical_network": "physnet1"}}, 400,
         "provider:physical_network", "vxlan"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "flat", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 10}}, 400, "provider:segmentation_id", "flat"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "vxlan", "provider:segmentation_id": "many"}}, 400,
         "provider:segmentation_id", "'many'"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "vxlan", "provider:segmentation_id": 16777216}}, 400,
         "provider:segmentation_id", "16777216"),
    case("POST", "/v2.0/networks", {"network": {
        "provider:network_type": "vxlan", "provider:segmentation_id": "@vni"}}, 409,
         "already in use", name="vxlan segment taken"),
    case("POST", "/v2.0/networks", {"network": {"provider:network_type": "vxlan"}}, 403,
         "provider:network_type", who="member"),
    case("POST", "/v2.0/networks", {"network": {"shared": True}}, 403, "shared", who="member"),
    case("POST", "/v2.0/networks", {"network": {"tenant_id": "alice"}}, 403, "project",
         who="member"),
    case("PUT", "/v2.0/networks/@net", {"network": {"provider:network_type": "vlan"}}, 400,
         "read-only", "provider:network_type"),
    case("PUT", "/v2.0/networks/@net", {"network": {"tenant_id": "x"}}, 400, "read-only",
         "tenant_id"),
    case("PUT", "/v2.0/networks/@net", {"network": {"id": MISSING}}, 400, "id"),
    case("PUT", "/v2.0/networks/@net", {"network": {"name": LONG}}, 400, "name", "255"),
    case("PUT", "/v2.0/networks/@net", {"network": {"admin_state_up": "nope"}}, 400,
         "admin_state_up", "'nope'"),
    case("PUT", "/v2.0/networks/@net", {"network": {"mtu": -1}}, 400, "mtu", "-1"),
    case("PUT", "/v2.0/networks/@net", {"subnet": {"name": "x"}}, 400,
         "Resource 'network' not found"),
    case("PUT", "/v2.0/networks/not-a-uuid", {"network": {"name": "x"}}, 404, "not-a-uuid"),
    case("PUT", "/v2.0/networks/@missing", {"network": {"name": "x"}}, 404, MISSING),
    case("PUT", "/v2.0/networks/@net", {"network": {"name": "x"}}, 404, "could not be found",
         who="other", name="PUT another project's network"),
]

BODY_CASES = [
    case("POST", "/v2.0/networks", Raw(b'{"network": {"name": "x",}}'), 400,
         "Malformed JSON", name="malformed JSON"),
    case("POST", "/v2.0/networks", Raw(b'{"network": '), 400, "Malformed JSON",
         name="truncated JSON"),
    case("POST", "/v2.0/networks", Raw(b"\xff\xfe{}"), 400, "Malformed JSON",
         name="not UTF-8"),
    case("POST", "/v2.0/networks", Raw(b'{"network": {}}', "text/plain"), 400,
         "'text/plain'", "application/json", name="text/plain"),
    case("POST", "/v2.0/networks", Raw(b'network=x', "application/x-www-form-urlencoded"),
         400, "application/json", name="form body"),
    case("POST", "/v2.0/networks", Raw(b""), 400, "empty", name="empty body"),
    case("POST", "/v2.0/networks", Raw(b"", None), 400, "empty", name="no body at all"),
    case("POST", "/v2.0/networks", Raw(b"null"), 400, "Resource 'network' not found",
         name="null body"),
    case("POST", "/v2.0/networks", Raw(b"[]"), 400, "Resource 'network' not found",
         name="list body"),
    case("POST", "/v2.0/networks", {}, 400, "Resource 'network' not found"),
    case("POST", "/v2.0/networks", {"name": "x"}, 400, "Resource 'network' not found"),
    case("POST", "/v2.0/networks", {"network": "x"}, 400, "Resource 'network' not found"),
    case("POST", "/v2.0/networks", {"network": {}, "subnet": {}}, 400,
         "Resource 'network' not found"),
    case("PUT", "/v2.0/ports/@port1", Raw(b'{"port": {"name": "x"}', "application/json"), 400,
         "Malformed JSON", name="port update malformed JSON"),
    case("PUT", "/v2.0/subnets/@sub", Raw(b'{}', "text/plain"), 400, "'text/plain'",
         name="subnet update text/plain"),
]

SUBNET = "/v2.0/subnets"


def sub(**attrs: Any) -> dict[str, Any]:
    return {"subnet": {"network_id": "@net2", "cidr": "10.31.0.0/24", **attrs}}


SUBNET_CASES = [
    case("POST", SUBNET, sub(network_id="net1"), 400, "network_id", "'net1'", "UUID"),
    case("POST", SUBNET, sub(network_id=7), 400, "network_id", "UUID"),
    case("POST", SUBNET, sub(network_id="@missing"), 404, MISSING),
    case("POST", SUBNET, {"subnet": {"cidr": "10.31.0.0/24"}}, 400, "network_id",
         "not specified"),
    case("POST", SUBNET, {"subnet": {"network_id": "@net2"}}, 400, "cidr", "not specified"),
    case("POST", SUBNET, sub(cidr="10.0.0.0/33"), 400, "10.0.0.0/33", "not a valid CIDR"),
    case("POST", SUBNET, sub(cidr="foo"), 400, "'foo'", "CIDR"),
    case("POST", SUBNET, sub(cidr="10.31.0.1"), 400, "10.31.0.1", "prefix length"),
    case("POST", SUBNET, sub(cidr="10.31.0.0/31"), 400, "10.31.0.0/31", "too small"),
    case("POST", SUBNET, sub(cidr=["10.31.0.0/24"]), 400, "cidr", "list"),
    case("POST", SUBNET, sub(cidr="10.20.0.0/25"), 400, "10.20.0.0/25", "overlaps",
         "10.20.0.0/24"),
    case("POST", SUBNET, sub(cidr="10.30.0.128/25"), 400, "overlaps", "this network"),
    case("POST", SUBNET, sub(ip_version=5), 400, "ip_version", "4 or 6"),
    case("POST", SUBNET, sub(ip_version="four"), 400, "ip_version", "'four'"),
    case("POST", SUBNET, sub(ip_version=6), 400, "10.31.0.0/24", "IPv6"),
    case("POST", SUBNET, sub(gateway_ip="10.99.0.1"), 400, "10.99.0.1", "10.31.0.0/24"),
    case("POST", SUBNET, sub(gateway_ip="10.31.0.255"), 400, "10.31.0.255"),
    case("POST", SUBNET, sub(gateway_ip="gateway"), 400, "gateway_ip", "'gateway'"),
    case("POST", SUBNET, sub(gateway_ip=True), 400, "gateway_ip"),
    case("POST", SUBNET, sub(allocation_pools=[{"start": "10.31.0.10", "end": "10.31.0.20"},
                                               {"start": "10.31.0.15", "end": "10.31.0.30"}]),
         400, "overlap", "10.31.0.10-10.31.0.20", name="overlapping pools"),
    case("POST", SUBNET, sub(allocation_pools=[{"start": "10.32.0.10", "end": "10.32.0.20"}]),
         400, "10.32.0.10-10.32.0.20", "outside", name="pool outside the CIDR"),
    case("POST", SUBNET, sub(allocation_pools=[{"start": "10.31.0.20", "end": "10.31.0.10"}]),
         400, "10.31.0.20-10.31.0.10", "start is after end", name="pool start after end"),
    case("POST", SUBNET, sub(allocation_pools=[{"start": "10.31.0.1", "end": "10.31.0.9"}]),
         400, "Gateway 10.31.0.1", "inside allocation pool", name="gateway inside pool"),
    case("POST", SUBNET, sub(allocation_pools=[{"start": "10.31.0.10"}]), 400,
         "allocation_pools", "end"),
    case("POST", SUBNET, sub(allocation_pools=[{"start": "ten", "end": "10.31.0.20"}]), 400,
         "'ten'", "allocation pool start"),
    case("POST", SUBNET, sub(allocation_pools="10.31.0.10-10.31.0.20"), 400,
         "allocation_pools", "not a list"),
    case("POST", SUBNET, sub(dns_nameservers=["8.8.8.888"]), 400, "dns_nameservers",
         "'8.8.8.888'"),
    case("POST", SUBNET, sub(host_routes=[{"destination": "10.9.0.1/24",
                                           "nexthop": "10.31.0.1"}]), 400,
         "'10.9.0.1/24'", "destination"),
    case("POST", SUBNET, sub(host_routes=[{"destination": "10.9.0.0/24"}]), 400,
         "host_routes", "nexthop"),
    case("POST", SUBNET, sub(enable_dhcp="maybe"), 400, "enable_dhcp", "'maybe'"),
    case("POST", SUBNET, sub(name=LONG), 400, "name", "255"),
    case("POST", SUBNET, sub(segment_id=MISSING), 400, "Unrecognized attribute",
         "segment_id"),
    case("POST", SUBNET, sub(), 404, "could not be found", who="member",
         name="member adds subnet to admin network"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"cidr": "10.20.0.0/16"}}, 400, "read-only",
         "cidr"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"network_id": "@net2"}}, 400, "read-only",
         "network_id"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"ip_version": 6}}, 400, "read-only",
         "ip_version"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"gateway_ip": "10.21.0.1"}}, 400,
         "10.21.0.1", "10.20.0.0/24"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"gateway_ip": "10.20.0.50"}}, 400,
         "10.20.0.50", "inside allocation pool"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"allocation_pools": [
        {"start": "10.20.1.2", "end": "10.20.1.9"}]}}, 400, "10.20.1.2-10.20.1.9", "outside"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"allocation_pools": [
        {"start": "10.20.0.9", "end": "10.20.0.2"}]}}, 400, "start is after end"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"host_routes": [
        {"destination": "x", "nexthop": "10.20.0.1"}]}}, 400, "'x'", "destination"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"dns_nameservers": "8.8.8.8"}}, 400,
         "dns_nameservers", "not a list"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"enable_dhcp": "off"}}, 400, "enable_dhcp",
         "'off'"),
    case("PUT", "/v2.0/subnets/@sub", {"subnet": {"name": 12}}, 400, "name", "12"),
    case("PUT", "/v2.0/subnets/bogus", {"subnet": {"name": "x"}}, 404, "bogus"),
]

PORTS = "/v2.0/ports"


def port(**attrs: Any) -> dict[str, Any]:
    return {"port": {"network_id": "@net", **attrs}}


PORT_CASES = [
    case("POST", PORTS, port(network_id="nope"), 400, "network_id", "'nope'", "UUID"),
    case("POST", PORTS, port(network_id="@missing"), 404, MISSING),
    case("POST", PORTS, {"port": {"name": "p"}}, 400, "network_id", "not specified"),
    case("POST", PORTS, port(mac_address="fa:16:3e:00:00"), 400, "mac_address",
         "'fa:16:3e:00:00'"),
    case("POST", PORTS, port(mac_address="fa-16-3e-00-00-01"), 400, "mac_address",
         "'fa-16-3e-00-00-01'"),
    case("POST", PORTS, port(mac_address="01:00:5e:00:00:01"), 400, "01:00:5e:00:00:01",
         "multicast"),
    case("POST", PORTS, port(mac_address=12), 400, "mac_address"),
    case("POST", PORTS, port(mac_address="fa:16:3e:aa:00:01"), 409, "fa:16:3e:aa:00:01",
         "in use", name="duplicate MAC"),
    case("POST", PORTS, port(mac_address="FA:16:3E:AA:00:02"), 409, "in use",
         name="duplicate MAC in capitals"),
    case("POST", PORTS, port(fixed_ips=[{"subnet_id": "@sub", "ip_address": "10.21.0.5"}]),
         400, "10.21.0.5", "10.20.0.0/24", name="IP outside its subnet"),
    case("POST", PORTS, port(fixed_ips=[{"ip_address": "192.168.9.9"}]), 400, "192.168.9.9",
         "not in any subnet"),
    case("POST", PORTS, port(fixed_ips=[{"subnet_id": "@sub", "ip_address": "10.20.0.10"}]),
         409, "10.20.0.10", "in use", name="IP already in use"),
    case("POST", PORTS, port(fixed_ips=[{"ip_address": "10.20.0.40"},
                                        {"ip_address": "10.20.0.40"}]), 409, "10.20.0.40",
         "in use", name="same IP twice"),
    case("POST", PORTS, port(fixed_ips=[{"ip_address": "10.20.0.1"}]), 409, "10.20.0.1",
         "gateway"),
    case("POST", PORTS, port(fixed_ips=[{"ip_address": "10.20.0.255"}]), 400, "10.20.0.255",
         "broadcast"),
    case("POST", PORTS, port(fixed_ips=[{"subnet_id": "@sub2"}]), 400, "not a subnet of",
         name="subnet of another network"),
    case("POST", PORTS, port(fixed_ips=[{"subnet_id": "@missing"}]), 400, MISSING),
    case("POST", PORTS, port(fixed_ips=[{}]), 400, "fixed_ips", "subnet_id", "ip_address"),
    case("POST", PORTS, port(fixed_ips=[{"ip_address": "10.20.0.300"}]), 400, "'10.20.0.300'"),
    case("POST", PORTS, port(fixed_ips=[{"subnet_id": "sub"}]), 400, "subnet_id", "'sub'"),
    case("POST", PORTS, port(fixed_ips=[{"ip": "10.20.0.5"}]), 400, "fixed_ips", "ip"),
    case("POST", PORTS, port(fixed_ips="10.20.0.5"), 400, "fixed_ips", "not a list"),
    case("POST", PORTS, {"port": {"network_id": "@full"}}, 409, "No more IP addresses",
         "10.40.0.0/30", name="subnet exhausted"),
    case("POST", PORTS, port(admin_state_up="up"), 400, "admin_state_up", "'up'"),
    case("POST", PORTS, port(device_id=["vm"]), 400, "device_id", "list"),
    case("POST", PORTS, port(device_owner=LONG), 400, "device_owner", "255"),
    case("POST", PORTS, port(**{"binding:host_id": 3}), 400, "binding:host_id"),
    case("POST", PORTS, port(status="ACTIVE"), 400, "Unrecognized attribute", "status"),
    case("POST", PORTS, port(**{"binding:host_id": "h"}), 403, "binding:host_id",
         who="member"),
    case("POST", PORTS, port(), 404, "could not be found", who="member",
         name="member port on admin network"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"network_id": "@net2"}}, 400, "read-only",
         "network_id"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"mac_address": "zz:16:3e:00:00:01"}}, 400,
         "mac_address", "'zz:16:3e:00:00:01'"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"mac_address": "fa:16:3e:aa:00:02"}}, 409,
         "fa:16:3e:aa:00:02", "in use", name="update to duplicate MAC"),
    case("PUT", "/v2.0/ports/@port2", {"port": {"fixed_ips": [{"ip_address": "10.20.0.10"}]}},
         409, "10.20.0.10", "in use", name="update to IP in use"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"fixed_ips": [
        {"subnet_id": "@sub", "ip_address": "10.30.0.5"}]}}, 400, "10.30.0.5",
         name="update to IP outside subnet"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"fixed_ips": [{"subnet_id": "@sub2"}]}}, 400,
         "not a subnet of", name="update to subnet of another network"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"name": 5}}, 400, "name", "5"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"id": MISSING}}, 400, "id"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"admin_state_up": None}}, 400,
         "admin_state_up"),
    case("PUT", "/v2.0/ports/@missing", {"port": {"name": "x"}}, 404, MISSING),
    # dns-integration: dns_name is a DNS name, checked before anything is stored.
    case("POST", PORTS, port(dns_name="-web"), 400, "dns_name", "'-web'", "hyphen"),
    case("POST", PORTS, port(dns_name="web_1"), 400, "dns_name", "web_1"),
    case("POST", PORTS, port(dns_name="a..b"), 400, "dns_name", "empty label"),
    case("POST", PORTS, port(dns_name="x" * 64), 400, "dns_name", "63"),
    case("POST", PORTS, port(dns_name="a." * 128), 400, "dns_name", "255"),
    case("POST", PORTS, port(dns_name=5), 400, "dns_name", "not a string"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"dns_name": "vm 1"}}, 400, "dns_name",
         "'vm 1'"),
    case("PUT", "/v2.0/ports/@port1", {"port": {"dns_assignment": []}}, 400,
         "Unrecognized attribute", "dns_assignment"),
    case("GET", "/v2.0/ports?fixed_ips=10.20.0.10", None, 400, "fixed_ips", "<key>=",
         name="fixed_ips filter without key"),
    case("GET", "/v2.0/ports?fixed_ips=mac_address%3Dfa:16:3e:aa:00:01", None, 400,
         "fixed_ips", "mac_address", name="fixed_ips filter unknown key"),
    case("GET", "/v2.0/ports?fixed_ips=subnet_id%3D" + "a" * 65, None, 400, "fixed_ips",
         "64 characters", name="fixed_ips filter too long"),
]

AGENT_CASES = [
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"host": "elsewhere"}}, 400, "read-only",
         "host"),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"alive": False}}, 400, "read-only", "alive"),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"agent_type": "L3 agent"}}, 400, "read-only",
         "agent_type"),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"admin_state_up": "maybe"}}, 400,
         "admin_state_up", "'maybe'"),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"description": ["x"]}}, 400, "description",
         "list"),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"description": LONG}}, 400, "description",
         "255"),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"colour": "red"}}, 400,
         "Unrecognized attribute", "colour"),
    case("PUT", "/v2.0/agents/@dhcp", {"admin_state_up": False}, 400,
         "Resource 'agent' not found"),
    case("PUT", "/v2.0/agents/@dhcp", Raw(b"admin_state_up=False", "text/plain"), 400,
         "'text/plain'", name="agent update text/plain"),
    case("PUT", "/v2.0/agents/@missing", {"agent": {"admin_state_up": False}}, 404, MISSING),
    case("PUT", "/v2.0/agents/@dhcp", {"agent": {"admin_state_up": False}}, 403,
         "update_agent", who="member", name="member disables agent"),
    case("POST", "/v2.0/agents", {"agent": {"host": "x"}}, 405, "registers itself"),
]

DHCP_NETWORKS = "/v2.0/agents/@dhcp/dhcp-networks"

SCHEDULER_CASES = [
    case("POST", DHCP_NETWORKS, {}, 400, "network_id", name="dhcp-networks without network_id"),
    case("POST", DHCP_NETWORKS, {"network": "@net2"}, 400, "network_id"),
    case("POST", DHCP_NETWORKS, {"network_id": "@net2", "force": True}, 400, "network_id"),
    case("POST", DHCP_NETWORKS, Raw(b"[]"), 400, "network_id", name="dhcp-networks list body"),
    case("POST", DHCP_NETWORKS, {"network_id": "net2"}, 400, "network_id", "'net2'", "UUID"),
    case("POST", DHCP_NETWORKS, {"network_id": 12}, 400, "network_id", "UUID"),
    case("POST", DHCP_NETWORKS, {"network_id": "@missing"}, 404, MISSING),
    case("POST", DHCP_NETWORKS, {"network_id": "@net"}, 409, "@net", name="already hosted"),
    case("POST", DHCP_NETWORKS, Raw(b'{"network_id": '), 400, "Malformed JSON",
         name="dhcp-networks malformed JSON"),
    case("POST", DHCP_NETWORKS, Raw(b"", None), 400, "empty", name="dhcp-networks empty"),
    case("POST", "/v2.0/agents/@l2/dhcp-networks", {"network_id": "@net2"}, 404,
         "not a DHCP agent", name="Linux bridge agent as DHCP host"),
    case("POST", "/v2.0/agents/@missing/dhcp-networks", {"network_id": "@net2"}, 404, MISSING),
    case("POST", DHCP_NETWORKS, {"network_id": "@net2"}, 403, "dhcp-network", who="member",
         name="member schedules network"),
    case("DELETE", "/v2.0/agents/@dhcp/dhcp-networks/@bare", None, 409, "@bare",
         name="remove network not hosted"),
]


# ---- hostile input (issue 10): each of these was a 500 or was taken as it came ------------

def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


REPORT = "/agent-rpc/v1/report_state"
DHCP_PORTS = "/agent-rpc/v1/dhcp/ports"


def report(**fields: Any) -> dict[str, Any]:
    """A report_state of a new DHCP agent (refused, it must register nothing)."""
    return {"agent_type": "DHCP agent", "binary": "neutrino-dhcp-agent",
            "host": "hostile-host", "topic": "dhcp_agent", "start_flag": True, **fields}


def dhcp_port(**fields: Any) -> dict[str, Any]:
    return {"network_id": "@net2", "device_id": "dhcp-hostile", "host": "hostile-host",
            **fields}


def deep_conf(depth: int) -> dict[str, Any]:
    conf: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        conf = {"next": conf}
    return conf


HOSTILE_CASES = [
    case("POST", "/v2.0/networks", Raw(b'{"network": {"name": ' + nested(50000) + b"}}"), 400,
         "Malformed JSON", "nested 50002 levels", "32", name="JSON nested 50000 deep"),
    case("PUT", "/v2.0/agents/@dhcp", Raw(b'{"agent": ' + nested(40, b"{}") + b"}"), 400,
         "nested", name="agent update nested 40 deep"),
    case("POST", REPORT, Raw(nested(30000)), 400, "nested", who="agent",
         name="report_state nested 30000 deep"),
    case("POST", "/v2.0/networks", Raw(b'{"network": {"name": "\\ud800"}}'), 400,
         "Malformed JSON", "surrogate", name="lone surrogate in a name"),
    case("PUT", "/v2.0/networks/@net", Raw(b'{"network": {"description": "x\\udfff"}}'), 400,
         "Malformed JSON", "surrogate", name="lone surrogate in a description"),
    case("POST", REPORT, Raw(b'{"agent_type": "DHCP agent", "binary": "b", '
                             b'"host": "\\ud800"}'), 400, "surrogate", who="agent",
         name="lone surrogate in an agent host"),
    case("POST", "/v2.0/networks", Raw(b'{"network": {"mtu": NaN}}'), 400, "Malformed JSON",
         name="NaN literal"),
    case("POST", "/v2.0/networks", {"network": {"mtu": 2**64}}, 400, "mtu"),
    case("POST", "/v2.0/networks", Raw(b'{"network": {"mtu": ' + b"9" * 5000 + b"}}"), 400,
         "Malformed JSON", "infinity", name="5000-digit integer"),
    case("GET", "/agent-rpc/v1/events?host=h&after=99999999999999999999", None, 400, "after",
         who="agent", name="event cursor beyond 64 bits"),
    case("GET", "/agent-rpc/v1/events?host=h&after=1&timeout=nan", None, 400, "timeout",
         who="agent", name="event wait NaN seconds"),
    case("GET", "/v2.0/networks?limit=" + "1" * 5000, None, 400, "Limit", "…",
         name="5000-digit limit"),
    case("GET", "/v2.0/networks?sort_key=" + "k" * 5000, None, 400, "sort_key", "…",
         name="5000-character sort_key"),
    case("POST", REPORT, report(configurations={"networks": 2**64}), 400, "configurations",
         "64-bit", who="agent", name="report_state integer 2^64"),
    case("POST", REPORT, report(configurations={"networks": 2**63}), 400, "64-bit",
         who="agent", name="report_state integer 2^63"),
    case("POST", REPORT, report(resource_versions={"port": -(2**63) - 1}), 400,
         "resource_versions", who="agent", name="report_state integer below -2^63"),
    case("POST", REPORT, Raw(b'{"agent_type": "DHCP agent", "binary": "b", "host": "h", '
                             b'"configurations": {"x": 1e300, "y": NaN}}'), 400,
         "Malformed JSON", who="agent", name="report_state NaN"),
    case("POST", REPORT, report(host=""), 400, "host", "at least 1", who="agent",
         name="report_state empty host"),
    case("POST", REPORT, report(host="h" * 100000), 400, "host", "at most 255", who="agent",
         name="report_state 100000-character host"),
    case("POST", REPORT, report(host="a\x00b"), 400, "host", "NUL", who="agent",
         name="report_state NUL in host"),
    case("POST", REPORT, report(binary="b" * 256), 400, "binary", who="agent",
         name="report_state 256-character binary"),
    case("POST", REPORT, report(agent_type="t" * 256), 400, "agent_type", who="agent",
         name="report_state 256-character agent_type"),
    case("POST", REPORT, report(availability_zone="z" * 256), 400, "availability_zone",
         who="agent", name="report_state 256-character zone"),
    case("POST", REPORT, report(configurations=deep_conf(9)), 400, "configurations",
         "nested more than 8", who="agent", name="report_state configurations 10 deep"),
    case("POST", REPORT, report(configurations={"x": "y" * 20000}), 400, "configurations",
         "16384", who="agent", name="report_state configurations 20 KB"),
    case("POST", REPORT, report(configurations={"x": "y" * 200000}), 413,
         "max_request_body_size", who="agent", name="report_state body 200 KB"),
    case("POST", DHCP_PORTS, dhcp_port(host="h" * 256), 400, "host", who="agent",
         name="DHCP port 256-character host"),
    case("POST", DHCP_PORTS, dhcp_port(network_id="a\x00b"), 400, "network_id", "NUL",
         who="agent", name="DHCP port NUL network_id"),
    case("POST", DHCP_PORTS, dhcp_port(subnet_ids=["@sub2"] * 65), 400, "subnet_ids",
         who="agent", name="DHCP port 65 subnets"),
    case("POST", "/agent-rpc/v1/dhcp/ports_ready", {"port_ids": ["p"] * 4097}, 400,
         "4096", who="agent", name="ports_ready 4097 ids"),
    case("POST", "/agent-rpc/v1/dhcp/ports_ready", {"port_ids": ["a\x00"]}, 400,
         "port_ids", who="agent", name="ports_ready NUL id"),
    case("GET", "/v2.0/networks/a%00b", None, 400, "NUL", name="NUL in a network id"),
    case("PUT", "/v2.0/agents/a%00b", {"agent": {"admin_state_up": False}}, 400, "NUL",
         name="NUL in an agent id"),
    case("GET", "/v2.0/ports?device_id=a%00b", None, 400, "NUL", name="NUL in a filter"),
    case("GET", "/agent-rpc/v1/l2/a%00b", None, 400, "NUL", who="agent",
         name="NUL in an L2 host"),
    case("DELETE", "/agent-rpc/v1/dhcp/ports?network_id=a%00b&device_id=d", None, 400, "NUL",
         who="agent", name="NUL in a DHCP port release"),
    case("GET", "/agent-rpc/v1/dhcp/" + "h" * 256 + "/networks", None, 400, "host",
         who="agent", name="256-character host in a path"),
    case("POST", SUBNET, sub(cidr="9.2.9.1/24"), 400, "'9.2.9.1/24'", "host bits",
         "9.2.9.0/24", name="CIDR with host bits"),
    case("POST", SUBNET, sub(cidr="2001:db8::1/64", ip_version=6), 400, "host bits",
         "2001:db8::/64", name="IPv6 CIDR with host bits"),
    case("POST", "/v2.0/networks", {"network": {"name": ["x" * 10] * 7000}}, 400, "name",
         "...]", name="100 KB list as a name"),
    case("POST", "/v2.0/networks", {"network": {"admin_state_up": {"k" * 20: "v" * 90000}}},
         400, "admin_state_up", "…", name="90 KB object as a boolean"),
    case("POST", "/v2.0/networks", {"network": {"x" * 90000: 1}}, 400, "Unrecognized", "…",
         name="90 KB attribute name"),
    case("POST", "/v2.0/networks", Raw(b'{"network": {"name": "' + b"n" * (2 << 20) + b'"}}'),
         413, "114688", "max_request_body_size", name="2 MB body"),
    case("POST", "/v2.0/networks", Raw(b"x" * (2 << 20)), 413, "max_request_body_size",
         who=None, name="2 MB body without a token"),
]


def _edo(*entries: Any) -> dict[str, Any]:
    return {"port": {"extra_dhcp_opts": list(entries)}}


GOOD_OPT = {"opt_name": "tftp-server", "opt_value": "192.0.2.9"}
EXTRA_DHCP_OPT_CASES = [
    case("POST", PORTS, port(extra_dhcp_opts=[{"opt_name": "no-such", "opt_value": "x"}]), 400,
         "extra_dhcp_opts", "'no-such'", "not a DHCPv4 option", name="edo unknown name"),
    case("POST", PORTS, port(extra_dhcp_opts=[GOOD_OPT, {"opt_name": "999", "opt_value": "x"}]),
         400, "999", "1 through 254", name="edo code out of range"),
    case("POST", PORTS, port(extra_dhcp_opts={"opt_name": "mtu"}), 400, "not a list",
         name="edo not a list"),
    case("PUT", "/v2.0/ports/@port2", _edo(GOOD_OPT, {"opt_name": "bootfile-name",
                                                      "opt_value": "a\ntag:x,option:router,1"}),
         400, "one line", name="edo newline injection, valid entry before it"),
    case("PUT", "/v2.0/ports/@port2", _edo({"opt_name": "bootfile-name", "opt_value": ""}), 400,
         "must not be empty", name="edo empty value"),
    case("PUT", "/v2.0/ports/@port2", _edo({"opt_name": "dns-server", "opt_value": "1.2.3"}),
         400, "IPv4 addresses", "'1.2.3'", name="edo address option with a bad address"),
    case("PUT", "/v2.0/ports/@port2", _edo({"opt_name": "mtu", "opt_value": "1",
                                            "ip_version": 5}), 400, "not 4 or 6",
         name="edo ip_version 5"),
    case("PUT", "/v2.0/ports/@port2", _edo(GOOD_OPT, GOOD_OPT), 400, "more than once",
         name="edo duplicate"),
    case("PUT", "/v2.0/ports/@port2", _edo({"opt_name": "bootfile-name", "opt_value": 67}),
         400, "not a string", name="edo value not a string"),
    case("PUT", "/v2.0/ports/@port2", _edo({"opt_name": "bootfile-name", "opt_value": "x" * 300}),
         400, "255", name="edo value too long"),
    case("PUT", "/v2.0/ports/@port2", _edo({"opt_name": "x" * 100, "opt_value": "v"}), 400,
         "1 to 64", name="edo name too long"),
]


@pytest.mark.parametrize(("who", "request_case"), NETWORK_CASES + BODY_CASES + SUBNET_CASES
                         + PORT_CASES + AGENT_CASES + SCHEDULER_CASES
                         + HOSTILE_CASES + EXTRA_DHCP_OPT_CASES)
def test_bad_request_is_refused_with_a_clear_error_and_changes_nothing(
        server: RunningServer, world: World, who: str, request_case: Case) -> None:
    method, path, body, status, words = request_case
    ids = world.ids
    if isinstance(body, dict) and "@vni" in str(body):
        body = {"network": {**body["network"], "provider:segmentation_id": int(ids["@vni"])}}
    body = _fill_value(body, ids)
    before = snapshot(server)
    with server.client(who) as c:
        response = send(c, method, _fill_value(path, ids), body)
    assert len(response.content) < 2048, response.content[:2048]
    assert response.status_code == status, response.text
    error = response.json()["NeutronError"]
    assert set(error) == {"type", "message", "detail"}
    assert error["type"] and isinstance(error["type"], str)
    message = error["message"]
    assert message.endswith("."), message
    # However large the input, the message repeats at most a short rendering of it.
    assert len(message) < 700, message[:1000]
    for word in words:
        assert _fill_value(word, ids) in message, message
    assert snapshot(server) == before


def _v3(user: str = "admin", project: str = "admin") -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": "x"}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}


IDENTITY_CASES = [
    pytest.param("/v3/auth/tokens", Raw(nested(50000)), 400, ["nested"], id="v3 nested"),
    pytest.param("/v2.0/tokens", Raw(b'{"auth": ' + nested(50000) + b"}"), 400, ["nested"],
                 id="v2.0 nested"),
    pytest.param("/v3/auth/tokens", Raw(b'{"auth": {"identity": {"methods": ["password"], '
                                        b'"password": {"user": {"name": "\\ud800", '
                                        b'"password": "x"}}}}}'), 400, ["surrogate"],
                 id="v3 lone surrogate in a user name"),
    pytest.param("/v3/auth/tokens", Raw(b'{"auth": {"identity": {"methods": ["\\udbff"]}}}'),
                 400, ["surrogate"], id="v3 lone surrogate in a method"),
    pytest.param("/v2.0/tokens", Raw(b'{"auth": {"passwordCredentials": {"username": '
                                     b'"\\ud800", "password": "x"}}}'), 400, ["surrogate"],
                 id="v2.0 lone surrogate in a user name"),
    pytest.param("/v3/auth/tokens", _v3(user="ad\x00min"), 400, ["name", "NUL"],
                 id="v3 NUL in a user name"),
    pytest.param("/v3/auth/tokens", _v3(project="p" * 300), 400, ["name", "255"],
                 id="v3 300-character project"),
    pytest.param("/v3/auth/tokens", {"auth": {"identity": {"methods": ["x" * 10] * 7000}}},
                 401, ["Unsupported auth methods", "...]"], id="v3 100 KB methods list"),
    pytest.param("/v3/auth/tokens", Raw(b"x" * (2 << 20)), 413, ["max_request_body_size"],
                 id="v3 2 MB body"),
    pytest.param("/v2.0/tokens", Raw(b"x" * (2 << 20), None), 413, ["max_request_body_size"],
                 id="v2.0 2 MB body"),
]


@pytest.mark.parametrize(("path", "body", "status", "words"), IDENTITY_CASES)
def test_bad_token_request_is_refused_with_keystones_error_and_changes_nothing(
        server: RunningServer, path: str, body: Any, status: int, words: list[str]) -> None:
    before = snapshot(server)
    with server.client(None) as c:
        response = send(c, "POST", path, body)
    assert response.status_code == status, response.text
    assert len(response.content) < 2048, response.content[:2048]
    error = response.json()["error"]
    assert error["code"] == status and error["title"], error
    for word in words:
        assert word in error["message"], error["message"]
    assert snapshot(server) == before


def test_world_is_intact_after_all_bad_requests(server: RunningServer, world: World) -> None:
    with server.client() as c:
        port1 = c.get(f"/v2.0/ports/{world.ids['@port1']}").json()["port"]
        assert port1["mac_address"] == "fa:16:3e:aa:00:01"
        assert [f["ip_address"] for f in port1["fixed_ips"]] == ["10.20.0.10"]
        port2 = c.get(f"/v2.0/ports/{world.ids['@port2']}").json()["port"]
        assert port2["extra_dhcp_opts"] == [
            {"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4}]
        agent = c.get(f"/v2.0/agents/{world.ids['@dhcp']}").json()["agent"]
        assert agent["admin_state_up"] is True and agent["host"] == "bad-input-host"


# ---- a server whose VXLAN range holds two networks -------------------------------------------

@pytest.fixture(scope="module")
def tiny_server(db_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RunningServer]:
    kind = db_url.split(":", 1)[0].split("+", 1)[0]
    kind = {"postgresql": "postgresql", "sqlite": "sqlite"}.get(kind, "mariadb")
    tmp = str(tmp_path_factory.mktemp("tiny"))
    with fresh_database(kind, tmp) as url, \
            running_server(settings_for(url, tmp, vni_ranges=[(5000, 5001)])) as running:
        yield running


def test_exhausted_segment_range_is_reported_and_changes_nothing(tiny_server: RunningServer
                                                                 ) -> None:
    with tiny_server.client("member") as c:
        made = [c.post("/v2.0/networks", json={"network": {"name": f"n{i}-{uuid.uuid4().hex}"}})
                for i in range(2)]
        assert [r.status_code for r in made] == [201, 201]
        before = snapshot(tiny_server)
        response = c.post("/v2.0/networks", json={"network": {"name": "one too many"}})
    # Neutron answers NoNetworkAvailable with 503: the request was fine, capacity is not.
    assert response.status_code == 503, response.text
    error = response.json()["NeutronError"]
    assert error["type"] == "NoNetworkAvailable"
    assert "vxlan" in error["message"] and "vni_ranges" in error["message"]
    assert snapshot(tiny_server) == before
    with tiny_server.client() as admin:
        explicit = admin.post("/v2.0/networks", json={"network": {
            "provider:network_type": "vxlan", "provider:segmentation_id": 5000}})
    assert explicit.status_code == 409, explicit.text
    assert "already in use" in explicit.json()["NeutronError"]["message"]
    assert snapshot(tiny_server) == before


# ---- edges that are valid and must not be mistaken for bad input ------------------------------

def test_names_of_exactly_255_characters_and_any_unicode_are_kept(server: RunningServer
                                                                  ) -> None:
    names = ["x" * 255, "réseau 🙂 网络", "ü" * 255]
    with server.client() as c:
        for name in names:
            made = c.post("/v2.0/networks", json={"network": {"name": name,
                                                              "description": name}})
            assert made.status_code == 201, made.text
            net_id = made.json()["network"]["id"]
            shown = c.get(f"/v2.0/networks/{net_id}").json()["network"]
            assert (shown["name"], shown["description"]) == (name, name)
            assert c.delete(f"/v2.0/networks/{net_id}").status_code == 204


def test_subnet_update_moves_gateway_and_pools_together(server: RunningServer) -> None:
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "gw-move"}}))["network"]
        sub = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "10.50.0.0/24", "enable_dhcp": False}}))["subnet"]
        # The new gateway sits in the old pool but outside the new one: judged together, fine.
        moved = c.put(f"/v2.0/subnets/{sub['id']}", json={"subnet": {
            "gateway_ip": "10.50.0.5",
            "allocation_pools": [{"start": "10.50.0.10", "end": "10.50.0.200"}]}})
        assert moved.status_code == 200, moved.text
        body = moved.json()["subnet"]
        assert body["gateway_ip"] == "10.50.0.5"
        assert body["allocation_pools"] == [{"start": "10.50.0.10", "end": "10.50.0.200"}]
        assert c.delete(f"/v2.0/networks/{net['id']}").status_code == 204
