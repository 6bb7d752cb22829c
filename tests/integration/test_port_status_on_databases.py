"""Port and network status on every database: a compute port waits for every hosting DHCP
agent, and stops waiting for one that is removed or deleted (docs/operations.md)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neutrino.transport.messages import DeviceList, NetworkApplied
from tests.support.agents import agent_client, dhcp_state
from tests.support.server import RunningServer, running_server, settings_for


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # Bindings are made by the test; no scheduler or failover may add or move any.
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            network_auto_schedule=False, allow_automatic_dhcp_failover=False)
    with running_server(settings) as running:
        yield running


def _status(admin: httpx.Client, kind: str, item_id: str) -> str:
    return str(admin.get(f"/v2.0/{kind}s/{item_id}").json()[kind]["status"])


def _confirm(client: Any, host: str, admin: httpx.Client, net: str) -> None:
    revision = admin.get(f"/v2.0/networks/{net}").json()["network"]["revision_number"]
    client.networks_applied(host, [NetworkApplied(network_id=net, revision_number=revision)])


def test_a_port_stops_waiting_for_an_agent_that_no_longer_hosts_the_network(
        server: RunningServer) -> None:
    client = agent_client(server)
    admin = server.client("admin")
    tag = uuid.uuid4().hex[:6]
    hosts = [f"HostP{i}-{tag}" for i in range(3)]
    ids = [client.report_state(dhcp_state(h, start=True)).agent_id for h in hosts]
    try:
        net = admin.post("/v2.0/networks", json={"network": {"name": "st"}}
                         ).json()["network"]["id"]
        admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net, "cidr": "10.65.0.0/24"}}).raise_for_status()
        for agent_id in ids:
            admin.post(f"/v2.0/agents/{agent_id}/dhcp-networks",
                       json={"network_id": net}).raise_for_status()
        assert _status(admin, "network", net) == "DOWN"  # three agents, none serving yet
        vm = admin.post("/v2.0/ports", json={"port": {
            "network_id": net, "device_owner": "compute:nova", "binding:host_id": "HostL-" + tag,
        }}).json()["port"]
        assert vm["status"] == "DOWN"
        client.update_device_list("HostL-" + tag, DeviceList(devices_up=[vm["id"]]))
        _confirm(client, hosts[0], admin, net)
        assert _status(admin, "network", net) == "ACTIVE"  # one agent serves it
        assert _status(admin, "port", vm["id"]) == "DOWN"  # two have not loaded it

        removed = admin.delete(f"/v2.0/agents/{ids[1]}/dhcp-networks/{net}")
        assert removed.status_code == 204, removed.text
        assert _status(admin, "port", vm["id"]) == "DOWN"  # the third still has not
        assert admin.delete(f"/v2.0/agents/{ids[2]}").status_code == 204
        assert _status(admin, "port", vm["id"]) == "ACTIVE"

        # Administratively down: DOWN whatever the wiring; up again: ACTIVE again.
        admin.put(f"/v2.0/ports/{vm['id']}", json={"port": {"admin_state_up": False}}
                  ).raise_for_status()
        assert _status(admin, "port", vm["id"]) == "DOWN"
        admin.put(f"/v2.0/ports/{vm['id']}", json={"port": {"admin_state_up": True}}
                  ).raise_for_status()
        assert _status(admin, "port", vm["id"]) == "ACTIVE"
        # Moved to another host: that host's L2 agent must wire it first.
        admin.put(f"/v2.0/ports/{vm['id']}", json={"port": {"binding:host_id": "HostM-" + tag}}
                  ).raise_for_status()
        assert _status(admin, "port", vm["id"]) == "DOWN"
        admin.put(f"/v2.0/networks/{net}", json={"network": {"admin_state_up": False}}
                  ).raise_for_status()
        assert _status(admin, "network", net) == "DOWN"
    finally:
        client.close()
        admin.close()
