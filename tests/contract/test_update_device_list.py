"""Port status over every driver: update_device_list (the L2 agent's wiring report) and
networks_applied (the DHCP agents' confirmations) take a compute port DOWN -> ACTIVE ->
DOWN; other ports keep their old rule."""
from __future__ import annotations

import uuid
from typing import Any

from neutrino.transport.client import AgentServerClient
from neutrino.transport.messages import DeviceList, NetworkApplied
from tests.contract.conftest import Deployment
from tests.support.agents import register


def _get(dep: Deployment, kind: str, item_id: str) -> dict[str, Any]:
    with dep.server.client() as c:
        return c.get(f"/v2.0/{kind}s/{item_id}").json()[kind]


def _hosting_hosts(dep: Deployment, net: str) -> list[str]:
    with dep.server.client() as c:
        return [a["host"] for a in c.get(f"/v2.0/networks/{net}/dhcp-agents").json()["agents"]]


def _confirm_all(dep: Deployment, client: AgentServerClient, net: str) -> None:
    """Every hosting DHCP agent confirms the network's current revision."""
    revision = _get(dep, "network", net)["revision_number"]
    for host in _hosting_hosts(dep, net):
        client.networks_applied(host, [NetworkApplied(network_id=net, revision_number=revision)])


def test_compute_port_goes_active_when_wired_and_loaded_and_down_when_unplugged(
        deployment: Deployment) -> None:
    client = deployment.client()
    host = "HostS-" + uuid.uuid4().hex[:6]
    _, dhcp = register(client, host)
    with deployment.server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "status"}}
                     ).json()["network"]["id"]
        assert c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net, "cidr": "10.63.0.0/24"}}).status_code == 201
        added = c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks",
                       json={"network_id": net})
        assert added.status_code in (201, 409), added.text
        vm = c.post("/v2.0/ports", json={"port": {
            "network_id": net, "device_owner": "compute:nova", "device_id": "vm-1",
            "binding:host_id": host}}).json()["port"]
        other = c.post("/v2.0/ports", json={"port": {
            "network_id": net, "device_owner": "network:router_interface",
            "binding:host_id": host}}).json()["port"]
    assert vm["status"] == "DOWN"
    assert other["status"] == "ACTIVE"  # not a compute port: bound is enough, as before
    assert _get(deployment, "network", net)["status"] == "DOWN"  # no agent serves it yet

    # Loaded by every DHCP agent, but not wired yet.
    _confirm_all(deployment, client, net)
    assert _get(deployment, "network", net)["status"] == "ACTIVE"
    assert _get(deployment, "port", vm["id"])["status"] == "DOWN"

    # A report for a host the port is not bound to changes nothing.
    client.update_device_list("elsewhere", DeviceList(devices_up=[vm["id"]]))
    assert _get(deployment, "port", vm["id"])["status"] == "DOWN"
    client.update_device_list(host, DeviceList(devices_up=[vm["id"]]))
    assert _get(deployment, "port", vm["id"])["status"] == "ACTIVE"
    wired = {d.port_id: d.wired for d in client.get_l2_state(host).devices}
    assert wired[vm["id"]] is True and wired[other["id"]] is False
    client.update_device_list(host, DeviceList(devices_up=[vm["id"]]))  # idempotent
    assert _get(deployment, "port", vm["id"])["status"] == "ACTIVE"

    # New addresses: DOWN until the agents have loaded them.
    with deployment.server.client() as c:
        updated = c.put(f"/v2.0/ports/{vm['id']}", json={"port": {"fixed_ips": [
            {"ip_address": "10.63.0.200"}]}}).json()["port"]
    assert updated["status"] == "DOWN"
    _confirm_all(deployment, client, net)
    assert _get(deployment, "port", vm["id"])["status"] == "ACTIVE"

    client.update_device_list(host, DeviceList(devices_down=[vm["id"]]))
    assert _get(deployment, "port", vm["id"])["status"] == "DOWN"
    assert {d.port_id: d.wired for d in client.get_l2_state(host).devices}[vm["id"]] is False


def test_an_agent_newly_hosting_the_network_does_not_flap_an_active_port(
        deployment: Deployment) -> None:
    client = deployment.client()
    host, newcomer = ("HostT-" + uuid.uuid4().hex[:6] for _ in range(2))
    _, dhcp = register(client, host)
    with deployment.server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "flap"}}
                     ).json()["network"]["id"]
        assert c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net, "cidr": "10.64.0.0/24"}}).status_code == 201
        c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", json={"network_id": net})
        vm = c.post("/v2.0/ports", json={"port": {
            "network_id": net, "device_owner": "compute:nova", "device_id": "vm-2",
            "binding:host_id": host}}).json()["port"]
    client.update_device_list(host, DeviceList(devices_up=[vm["id"]]))
    _confirm_all(deployment, client, net)
    assert _get(deployment, "port", vm["id"])["status"] == "ACTIVE"
    _, late = register(client, newcomer)  # after the scheduling: not chosen for the network
    with deployment.server.client() as c:
        added = c.post(f"/v2.0/agents/{late.agent_id}/dhcp-networks", json={"network_id": net})
        assert added.status_code == 201, added.text
    assert _get(deployment, "port", vm["id"])["status"] == "ACTIVE"
    assert _get(deployment, "network", net)["status"] == "ACTIVE"
