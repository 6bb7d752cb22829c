"""IPv6 and dual stack end to end: a real server, two real DHCP agents hosting the networks,
real dnsmasq in their namespaces, udhcpc and ISC dhclient -6 in VM namespaces.

One deployment for the module: a dual-stack network (IPv4 /24 + DHCPv6-stateful /64) and a
DHCPv6-stateless network, both hosted by agents A and B. The last test kills A.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from neutrino import ipv6
from neutrino.agent import dnsmasq
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.naming import bridge_name
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agent_lab import Lab, sh
from tests.support.dhcpv6 import dhclient6
from tests.support.server import USERS, running_server, settings_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

V4, V6, V6_STATELESS = "9.0.61.0/24", "2001:db8:61::/64", "2001:db8:62::/64"
NAME_SERVER = "2001:db8:62::53"


@dataclass
class Deployment:
    lab: Lab
    admin: httpx.Client
    agents: dict[str, tuple[DhcpAgent, threading.Event, threading.Thread, HttpAgentClient]]
    dual: str  # network ids
    stateless: str

    def port(self, network_id: str, **attrs: Any) -> dict[str, Any]:
        response = self.admin.post("/v2.0/ports", json={"port": {"network_id": network_id,
                                                                  **attrs}})
        assert response.status_code == 201, response.text
        return dict(response.json()["port"])

    def served_by_all(self, network_id: str, port_id: str) -> None:
        """Every agent's dnsmasq has loaded the port (its hosts file names the MAC)."""
        def loaded() -> bool:
            return all(port_id in {p.id for p in agent.applied[network_id].network.ports}
                       for agent, *_ in self.agents.values() if network_id in agent.applied)
        wait_until(lambda: all(network_id in a.applied for a, *_ in self.agents.values())
                   and loaded(), 30)


@pytest.fixture(scope="module")
def deployment(module_lab: Lab) -> Iterator[Deployment]:
    lab = module_lab
    settings = settings_for(f"sqlite:///{lab.tmp}/neutrino.db", str(lab.tmp / "server"),
                            agent_down_time=5, dhcp_agents_per_network=2)
    name, password, project = USERS["agent"]
    network_ids: list[str] = []
    with running_server(settings) as server:
        agents = {}
        admin = server.client("admin")
        try:
            for side in "AB":
                client = HttpAgentClient(server.url, name, password, project)
                agent = DhcpAgent(lab.settings(host=f"{lab.prefix}-{side}",
                                               dhcp_confs=str(lab.tmp / side / "dhcp"),
                                               namespace_prefix=f"{lab.prefix}-dhcp{side}-"),
                                  client)
                stop = threading.Event()
                thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
                thread.start()
                agents[side] = (agent, stop, thread, client)
            for agent, *_ in agents.values():
                assert agent.synced.wait(30)
                wait_until(lambda agent=agent: agent.heartbeat.agent_id, 20)
            dual = _network(admin, "dual", [
                {"cidr": V4, "ip_version": 4},
                {"cidr": V6, "ip_version": 6, "ipv6_address_mode": ipv6.DHCPV6_STATEFUL,
                 "ipv6_ra_mode": ipv6.DHCPV6_STATEFUL}])
            network_ids.append(dual)
            stateless = _network(admin, "stateless", [
                {"cidr": V6_STATELESS, "ip_version": 6,
                 "ipv6_address_mode": ipv6.DHCPV6_STATELESS, "dns_nameservers": [NAME_SERVER]}])
            network_ids.append(stateless)
            yield Deployment(lab, admin, agents, dual, stateless)
        finally:
            for _agent, stop, thread, client in agents.values():
                stop.set()
                thread.join(20)
                client.close()
            admin.close()
            for side in "AB":
                for net_id in network_ids:
                    dnsmasq.stop(ConfPaths.for_network(str(lab.tmp / side / "dhcp"), net_id))
            for net_id in network_ids:
                # Server-made ids carry no run prefix: remove the bridges by name.
                sh("ip", "link", "delete", bridge_name(net_id), check=False)


def _network(admin: httpx.Client, name: str, subnets: list[dict[str, Any]]) -> str:
    net = admin.post("/v2.0/networks", json={"network": {"name": name}})
    assert net.status_code == 201, net.text
    net_id = str(net.json()["network"]["id"])
    for subnet in subnets:
        made = admin.post("/v2.0/subnets", json={"subnet": {"network_id": net_id, **subnet}})
        assert made.status_code == 201, made.text
    hosting = admin.get(f"/v2.0/networks/{net_id}/dhcp-agents").json()["agents"]
    assert len(hosting) == 2
    return net_id


def _address(port: dict[str, Any], version: int) -> str:
    found = [f["ip_address"] for f in port["fixed_ips"] if (":" in f["ip_address"])
             == (version == 6)]
    assert len(found) == 1, port["fixed_ips"]
    return str(found[0])


def test_dual_stack_vm_gets_exactly_its_port_addresses(deployment: Deployment) -> None:
    port = deployment.port(deployment.dual)
    other = deployment.port(deployment.dual)  # a neighbour whose address it must not get
    deployment.served_by_all(deployment.dual, other["id"])
    vm = deployment.lab.add_vm(deployment.dual, port["id"], port["mac_address"])
    assert vm.dhcp() == _address(port, 4)
    answer = dhclient6(vm.namespace)
    assert answer.addresses == [_address(port, 6)]
    assert _address(port, 6) != _address(other, 6)


def test_v6_only_port_on_a_dual_stack_network_gets_no_v4(deployment: Deployment) -> None:
    subnets = deployment.admin.get("/v2.0/subnets").json()["subnets"]
    v6_subnet = next(s["id"] for s in subnets if s["cidr"] == V6)
    port = deployment.port(deployment.dual, fixed_ips=[{"subnet_id": v6_subnet}])
    assert [f["subnet_id"] for f in port["fixed_ips"]] == [v6_subnet]
    deployment.served_by_all(deployment.dual, port["id"])
    vm = deployment.lab.add_vm(deployment.dual, port["id"], port["mac_address"])
    assert dhclient6(vm.namespace).addresses == [_address(port, 6)]
    assert vm.dhcp(tries=2) is None


def test_stateless_vm_gets_its_options_and_keeps_its_eui64(deployment: Deployment) -> None:
    port = deployment.port(deployment.stateless)
    assert _address(port, 6) == ipv6.eui64_address(V6_STATELESS, port["mac_address"])
    deployment.served_by_all(deployment.stateless, port["id"])
    vm = deployment.lab.add_vm(deployment.stateless, port["id"], port["mac_address"])
    answer = dhclient6(vm.namespace, stateless=True)
    assert answer.name_servers == [NAME_SERVER]
    assert answer.addresses == []  # an information-request hands out no address


def test_dual_stack_vm_gets_both_addresses_with_one_agent_killed(
        deployment: Deployment) -> None:
    port = deployment.port(deployment.dual)
    deployment.served_by_all(deployment.dual, port["id"])
    vm = deployment.lab.add_vm(deployment.dual, port["id"], port["mac_address"])
    agent_a, stop_a, thread_a, _client = deployment.agents["A"]
    stop_a.set()
    thread_a.join(20)
    paths = ConfPaths.for_network(str(deployment.lab.tmp / "A" / "dhcp"), deployment.dual)
    dnsmasq.stop(paths)
    assert dnsmasq.running_pid(paths) is None
    assert vm.dhcp() == _address(port, 4)
    assert dhclient6(vm.namespace).addresses == [_address(port, 6)]
