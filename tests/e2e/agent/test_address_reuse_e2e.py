"""A freed address reaches its next owner at once from both hosting agents (issue 14).

Two hosts (namespaces) with a DHCP agent and a Linux bridge agent each, VXLAN between them,
as in test_ha_e2e.py. A VM's port is deleted and a new port with another MAC gets the same
address: both dnsmasq instances still hold the old MAC's lease until the agents release it.
"""
from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from neutrino.agent import dnsmasq
from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.naming import bridge_name, tap_name, vxlan_name
from neutrino.agent.settings import L2AgentSettings, ServerAccess
from neutrino.agent_protocol.messages import PortInfo, TunnelEndpoint
from tests.support.agent_lab import Lab, Vm, sh, thread_in_netns
from tests.support.fake_server import make_network
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

SIDES = {"A": "192.0.2.1", "B": "192.0.2.2"}


def master_in(netns: str, link: str) -> str | None:
    proc = sh("ip", "-n", netns, "-j", "link", "show", "dev", link, check=False)
    return json.loads(proc.stdout)[0].get("master") if proc.returncode == 0 else None


@dataclass
class TwoHosts:
    lab: Lab
    network_id: str
    agents: dict[str, DhcpAgent] = field(default_factory=dict)
    stops: list[tuple[threading.Event, threading.Thread]] = field(default_factory=list)
    vms: int = 0

    def ns(self, side: str) -> str:
        return f"{self.lab.prefix}-h{side}"

    def host(self, side: str) -> str:
        return f"{self.lab.prefix}-{side}"

    def paths(self, side: str) -> ConfPaths:
        return ConfPaths.for_network(str(self.lab.tmp / side / "dhcp"), self.network_id)

    def leases(self, side: str) -> str:
        try:
            return Path(self.paths(side).leases).read_text()
        except FileNotFoundError:
            return ""

    def dnsmasq_pid(self, side: str) -> int:
        pid = dnsmasq.running_pid(self.paths(side))
        assert pid is not None, f"no dnsmasq on host {side}"
        return pid

    def vm(self, port: PortInfo, side: str = "A") -> Vm:
        """A VM on `side` whose tap the Linux bridge agent plugs (the port is bound there)."""
        self.vms += 1
        vm_ns = f"{self.lab.prefix}-vm{self.vms}"
        sh("ip", "netns", "add", vm_ns)
        sh("ip", "-n", self.ns(side), "link", "add", tap_name(port.id), "type", "veth",
           "peer", "name", "eth0", "address", port.mac_address, "netns", vm_ns)
        sh("ip", "-n", vm_ns, "link", "set", "eth0", "up")
        wait_until(lambda: master_in(self.ns(side), tap_name(port.id))
                   == bridge_name(self.network_id))
        script = self.lab.tmp / "udhcpc.sh"
        script.write_text('#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip"\nexit 0\n')
        script.chmod(0o755)
        return Vm(vm_ns, port.mac_address, str(script))

    def confirmed(self, revision: int) -> bool:
        """Both agents told the server they serve this revision of the network (or later)."""
        return all((self.lab.server.applied_revision(self.host(side), self.network_id) or -1)
                   >= revision for side in SIDES)


@pytest.fixture
def two_hosts(lab: Lab) -> Iterator[TwoHosts]:
    net = lab.net_id(1)
    hosts = TwoHosts(lab, net)
    for side in SIDES:
        sh("ip", "netns", "add", hosts.ns(side))
    # The "physical" wire between the two hosts carries the VXLAN traffic.
    sh("ip", "link", "add", f"{lab.prefix}wA", "netns", hosts.ns("A"), "type", "veth",
       "peer", "name", f"{lab.prefix}wB", "netns", hosts.ns("B"))
    for side, ip in SIDES.items():
        sh("ip", "-n", hosts.ns(side), "addr", "add", f"{ip}/24", "dev", f"{lab.prefix}w{side}")
        sh("ip", "-n", hosts.ns(side), "link", "set", f"{lab.prefix}w{side}", "up")
        sh("ip", "-n", hosts.ns(side), "link", "set", "lo", "up")
    lab.server.tunnel_endpoints = [TunnelEndpoint(host=hosts.host(side), ip=ip)
                                   for side, ip in SIDES.items()]
    vni = 14_500_000 + int(lab.prefix[2:], 16)
    lab.server.add_network(make_network(net, "9.0.2.0/24", segmentation_id=vni),
                           [hosts.host(side) for side in SIDES])
    try:
        yield hosts
    finally:
        for stop, thread in hosts.stops:
            stop.set()
            thread.join(20)
        for side in SIDES:
            cleanup_dhcp(str(lab.tmp / side / "dhcp"), f"{lab.prefix}-dhcp{side}-")


def start_agents(hosts: TwoHosts) -> None:
    lab = hosts.lab
    for side, ip in SIDES.items():
        host, ns = hosts.host(side), hosts.ns(side)
        dhcp = DhcpAgent(lab.settings(host=host, dhcp_confs=str(lab.tmp / side / "dhcp"),
                                      namespace_prefix=f"{lab.prefix}-dhcp{side}-"),
                         lab.server)
        stop = threading.Event()
        hosts.stops.append((stop, thread_in_netns(ns, dhcp.run, stop)))
        hosts.agents[side] = dhcp
        l2 = LinuxBridgeAgent(L2AgentSettings(
            host=host, state_path=str(lab.tmp), debug=True,
            server=ServerAccess("http://fake/", "u", "p"), report_interval=1,
            availability_zone="nova", polling_interval=1, resync_interval=5,
            physical_interface_mappings={}, enable_vxlan=True, local_ip=ip, vxlan_group=None,
            l2_population=False, vxlan_udp_port=4789, vxlan_ttl=None), lab.server,
            long_poll_timeout=1.0)
        l2_stop = threading.Event()
        hosts.stops.append((l2_stop, thread_in_netns(ns, l2.run, l2_stop)))
    vni = lab.server.networks[hosts.network_id].segmentation_id
    assert vni is not None
    for side in SIDES:
        wait_until(lambda side=side: master_in(hosts.ns(side), vxlan_name(vni))
                   == bridge_name(hosts.network_id), 20)
        assert hosts.agents[side].synced.wait(20)


def test_new_owner_of_a_freed_address_gets_it_at_its_first_request_from_both_hosts(
        two_hosts: TwoHosts) -> None:
    hosts, server = two_hosts, two_hosts.lab.server
    net, address = hosts.network_id, "9.0.2.5"
    old = server.add_port(net, hosts.lab.port_id(), ip=address, host=hosts.host("A"))
    start_agents(hosts)
    old_vm = hosts.vm(old)
    assert old_vm.dhcp() == address
    for side in SIDES:  # seeded at start, and renewed by the old VM on one of them
        assert f"{old.mac_address} {address} " in hosts.leases(side)

    server.delete_port(net, old.id)
    new = server.add_port(net, hosts.lab.port_id(), ip=address, host=hosts.host("A"))
    assert new.mac_address != old.mac_address
    wait_until(lambda: hosts.confirmed(server.networks[net].revision_number), 20)
    for side in SIDES:
        wait_until(lambda side=side: old.mac_address not in hosts.leases(side), 5)
        assert new.mac_address in Path(hosts.paths(side).hosts).read_text()

    new_vm = hosts.vm(new)
    for answering, silenced in (("A", "B"), ("B", "A")):
        # Only one dnsmasq may answer: each host must serve the new MAC on its own.
        pid = hosts.dnsmasq_pid(silenced)
        os.kill(pid, signal.SIGSTOP)
        try:
            assert new_vm.dhcp(tries=1) == address, f"host {answering} did not serve it"
        finally:
            os.kill(pid, signal.SIGCONT)
    assert old_vm.dhcp(tries=2) is None
    for side in SIDES:
        assert old.mac_address not in hosts.leases(side)
        assert f"{new.mac_address} {address} " in hosts.leases(side)


def test_agent_restarted_after_the_change_releases_what_the_adopted_dnsmasq_holds(
        lab: Lab) -> None:
    # The agent learns of the old pair only from the leases file: it was down when the
    # port went, and the dnsmasq it adopts at start still holds the old MAC's lease.
    net, address = lab.net_id(2), "9.0.3.7"
    lab.server.add_network(make_network(net, "9.0.3.0/24"), [lab.host])
    old = lab.server.add_port(net, lab.port_id(), ip=address)
    agent = lab.start_agent()
    paths = ConfPaths.for_network(str(lab.tmp / "dhcp"), net)
    pid = dnsmasq.running_pid(paths)
    old_vm = lab.add_vm(net, old.id, old.mac_address)
    assert old_vm.dhcp() == address
    lab.stop_agent(agent)

    lab.server.delete_port(net, old.id)
    new = lab.server.add_port(net, lab.port_id(), ip=address)
    agent = lab.start_agent()
    assert dnsmasq.running_pid(paths) == pid  # adopted, not restarted
    wait_until(lambda: old.mac_address not in Path(paths.leases).read_text(), 5)
    new_vm = lab.add_vm(net, new.id, new.mac_address)
    assert new_vm.dhcp(tries=1) == address
    assert old_vm.dhcp(tries=2) is None
    wait_until(lambda: (lab.server.applied_revision(lab.host, net) or -1)
               >= lab.server.networks[net].revision_number, 10)
