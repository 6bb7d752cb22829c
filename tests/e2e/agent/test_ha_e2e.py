"""The seed's HA walk-through on one machine: two hosts (namespaces), each with a DHCP agent
and a Linux bridge agent, VXLAN between them; the VM keeps getting its address from the
surviving host when the other one's agent and dnsmasq are gone."""
from __future__ import annotations

import json
import threading

import pytest

from neutrino.agent import dnsmasq
from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.naming import bridge_name, tap_name, vxlan_name
from neutrino.agent.settings import L2AgentSettings, ServerAccess
from neutrino.agent_protocol.messages import TunnelEndpoint
from tests.support.agent_lab import Lab, Vm, sh, thread_in_netns
from tests.support.fake_server import make_network
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root


def master_in(netns: str, link: str) -> str | None:
    proc = sh("ip", "-n", netns, "-j", "link", "show", "dev", link, check=False)
    return json.loads(proc.stdout)[0].get("master") if proc.returncode == 0 else None


def test_vm_gets_its_address_from_either_host(lab: Lab) -> None:
    hosts = {"A": ("192.0.2.1", f"{lab.prefix}-hA"), "B": ("192.0.2.2", f"{lab.prefix}-hB")}
    for _ip, ns in hosts.values():
        sh("ip", "netns", "add", ns)
    # The "physical" wire between the two hosts carries the VXLAN traffic.
    sh("ip", "link", "add", f"{lab.prefix}wA", "netns", hosts["A"][1], "type", "veth",
       "peer", "name", f"{lab.prefix}wB", "netns", hosts["B"][1])
    for side, (ip, ns) in hosts.items():
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", f"{lab.prefix}w{side}")
        sh("ip", "-n", ns, "link", "set", f"{lab.prefix}w{side}", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    server = lab.server
    server.tunnel_endpoints = [TunnelEndpoint(host=f"{lab.prefix}-{side}", ip=ip)
                               for side, (ip, _ns) in hosts.items()]
    vni = 14_000_000 + int(lab.prefix[2:], 16)
    net = lab.net_id(1)
    host_names = [f"{lab.prefix}-{side}" for side in hosts]
    server.add_network(make_network(net, "9.0.1.0/24", segmentation_id=vni), host_names)
    vm_port = server.add_port(net, lab.port_id(), ip="9.0.1.2", host=host_names[0])

    stops: list[tuple[threading.Event, threading.Thread]] = []
    dhcp_agents: dict[str, tuple[DhcpAgent, threading.Event, threading.Thread]] = {}
    for side, (ip, ns) in hosts.items():
        host = f"{lab.prefix}-{side}"
        dhcp = DhcpAgent(lab.settings(host=host, dhcp_confs=str(lab.tmp / side / "dhcp"),
                                      namespace_prefix=f"{lab.prefix}-dhcp{side}-"), server)
        stop = threading.Event()
        dhcp_agents[side] = (dhcp, stop, thread_in_netns(ns, dhcp.run, stop))
        l2 = LinuxBridgeAgent(L2AgentSettings(
            host=host, state_path=str(lab.tmp), debug=True,
            server=ServerAccess("http://fake/", "u", "p"), report_interval=1,
            availability_zone="nova", polling_interval=1, resync_interval=5,
            physical_interface_mappings={}, enable_vxlan=True, local_ip=ip, vxlan_group=None,
            l2_population=False, vxlan_udp_port=4789, vxlan_ttl=None), server,
            long_poll_timeout=1.0)
        l2_stop = threading.Event()
        stops.append((l2_stop, thread_in_netns(ns, l2.run, l2_stop)))
    lab.l2_stops.extend(stops)
    try:
        for side, (_ip, ns) in hosts.items():
            wait_until(lambda ns=ns: master_in(ns, vxlan_name(vni)) == bridge_name(net), 20)
            assert dhcp_agents[side][0].synced.wait(20)
        # Everything of a host lives in that host's namespace, nothing in ours.
        assert sh("ip", "link", "show", "dev", bridge_name(net), check=False).returncode != 0

        vm_ns = f"{lab.prefix}-vm"
        sh("ip", "netns", "add", vm_ns)
        sh("ip", "-n", hosts["A"][1], "link", "add", tap_name(vm_port.id), "type", "veth",
           "peer", "name", "eth0", "address", vm_port.mac_address, "netns", vm_ns)
        sh("ip", "-n", vm_ns, "link", "set", "eth0", "up")
        wait_until(lambda: master_in(hosts["A"][1], tap_name(vm_port.id)) == bridge_name(net))
        vm = Vm(vm_ns, vm_port.mac_address, str(lab.tmp / "udhcpc.sh"))
        (lab.tmp / "udhcpc.sh").write_text(
            '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip"\nexit 0\n')
        (lab.tmp / "udhcpc.sh").chmod(0o755)
        assert vm.dhcp() == "9.0.1.2"

        # Stop host A's DHCP agent and its dnsmasq: host B answers over VXLAN.
        agent_a, stop_a, thread_a = dhcp_agents["A"]
        stop_a.set()
        thread_a.join(20)
        dnsmasq.stop(ConfPaths.for_network(str(lab.tmp / "A" / "dhcp"), net))
        assert vm.dhcp() == "9.0.1.2"

        # Both gone: no answer.
        agent_b, stop_b, thread_b = dhcp_agents["B"]
        stop_b.set()
        thread_b.join(20)
        dnsmasq.stop(ConfPaths.for_network(str(lab.tmp / "B" / "dhcp"), net))
        assert vm.dhcp(tries=2) is None

        # B comes back: the VM gets its address again.
        again = DhcpAgent(agent_b.settings, server)
        stop_again = threading.Event()
        dhcp_agents["B"] = (again, stop_again, thread_in_netns(hosts["B"][1], again.run,
                                                               stop_again))
        assert again.synced.wait(20)
        assert vm.dhcp() == "9.0.1.2"
    finally:
        for _agent, stop, thread in dhcp_agents.values():
            stop.set()
            thread.join(20)
        for stop, _thread in stops:
            stop.set()  # joined by the lab fixture
        for side in hosts:
            cleanup_dhcp(str(lab.tmp / side / "dhcp"), f"{lab.prefix}-dhcp{side}-")
