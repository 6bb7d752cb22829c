"""The DHCP agent for real: namespaces, veth, dnsmasq, and VMs asking with udhcpc."""
from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from neutrino.agent import dnsmasq, namespaces
from neutrino.agent.dnsmasq_config import ConfPaths
from tests.support.agent_lab import Lab, links_with
from tests.support.fake_server import make_network
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root


def dnsmasq_pid(lab: Lab, network_id: str) -> int | None:
    return dnsmasq.running_pid(ConfPaths.for_network(str(lab.tmp / "dhcp"), network_id))


def served(lab: Lab, network_id: str) -> bool:
    return dnsmasq_pid(lab, network_id) is not None


def test_vm_gets_exactly_its_port_address(lab: Lab) -> None:
    net = lab.net_id(1)
    lab.server.add_network(make_network(net, "10.71.0.0/24"), [lab.host])
    port = lab.server.add_port(net, lab.port_id(), ip="10.71.0.23")
    agent = lab.start_agent()
    assert served(lab, net)
    vm = lab.add_vm(net, port.id, port.mac_address)
    assert vm.dhcp() == "10.71.0.23"
    first = lab.server.reports[0]
    assert first.start_flag and first.agent_type == "DHCP agent"
    wait_until(lambda: lab.server.reports[-1].configurations["networks"] == 1)
    report = lab.server.reports[-1]
    assert not report.start_flag
    assert report.configurations["ports"] == 2  # the VM's and the DHCP port
    assert agent.applied[net].dhcp_port.device_owner == "network:dhcp"


def test_port_added_later_is_served_and_deleted_port_is_not(lab: Lab) -> None:
    net = lab.net_id(2)
    lab.server.add_network(make_network(net, "10.72.0.0/24"), [lab.host])
    lab.start_agent()
    pid = dnsmasq_pid(lab, net)
    new = lab.server.add_port(net, lab.port_id(), ip="10.72.0.40")
    vm = lab.add_vm(net, new.id, new.mac_address)
    hosts = ConfPaths.for_network(str(lab.tmp / "dhcp"), net).hosts
    wait_until(lambda: new.mac_address in Path(hosts).read_text())
    assert vm.dhcp() == "10.72.0.40"
    assert dnsmasq_pid(lab, net) == pid  # a port change is a reload, not a restart

    lab.server.delete_port(net, new.id)
    wait_until(lambda: new.mac_address not in Path(hosts).read_text())
    assert vm.dhcp(tries=2) is None


def test_network_removed_from_agent_leaves_nothing_behind(lab: Lab) -> None:
    net = lab.net_id(3)
    lab.server.add_network(make_network(net, "10.73.0.0/24"), [lab.host])
    agent = lab.start_agent()
    namespace = agent.networks.namespace(net)
    tap = agent.applied[net].dhcp_port.id[:11]
    assert namespaces.exists(namespace) and links_with(tap)
    lab.server.unhost(net, lab.host)
    # The teardown's last steps (files, then the port's release) follow the namespace's
    # removal: wait for them too, instead of racing them.
    wait_until(lambda: not namespaces.exists(namespace) and not served(lab, net)
               and not os.path.exists(lab.tmp / "dhcp" / net) and lab.server.released)
    assert not links_with(tap)
    assert not os.path.exists(lab.tmp / "dhcp" / net)
    assert lab.server.released and lab.server.released[0][0] == net


def test_restarted_agent_adopts_dnsmasq_without_a_gap(lab: Lab) -> None:
    net = lab.net_id(4)
    lab.server.add_network(make_network(net, "10.74.0.0/24"), [lab.host])
    port = lab.server.add_port(net, lab.port_id(), ip="10.74.0.5")
    agent = lab.start_agent()
    pid = dnsmasq_pid(lab, net)
    vm = lab.add_vm(net, port.id, port.mac_address)
    lab.stop_agent(agent)
    assert dnsmasq_pid(lab, net) == pid  # SIGTERM leaves dnsmasq serving
    assert vm.dhcp() == "10.74.0.5"  # ... with no agent at all
    lab.start_agent()
    assert dnsmasq_pid(lab, net) == pid
    assert vm.dhcp() == "10.74.0.5"


def test_agent_restart_while_a_vm_asks_in_a_loop_loses_no_request(lab: Lab) -> None:
    net = lab.net_id(9)
    lab.server.add_network(make_network(net, "10.79.0.0/24"), [lab.host])
    port = lab.server.add_port(net, lab.port_id(), ip="10.79.0.7")
    agent = lab.start_agent()
    vm = lab.add_vm(net, port.id, port.mac_address)
    answers: list[str | None] = []
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            answers.append(vm.dhcp(tries=1))  # one DISCOVER, one second to be answered

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    try:
        wait_until(lambda: len(answers) >= 2, 20)
        lab.stop_agent(agent)
        stopped_at = len(answers)
        wait_until(lambda: len(answers) >= stopped_at + 2, 20)
        lab.start_agent()
        restarted_at = len(answers)
        wait_until(lambda: len(answers) >= restarted_at + 2, 20)
    finally:
        done.set()
        asker.join(10)
    assert answers and all(a == "10.79.0.7" for a in answers), answers


def test_dead_dnsmasq_is_restarted(lab: Lab) -> None:
    net = lab.net_id(5)
    lab.server.add_network(make_network(net, "10.75.0.0/24"), [lab.host])
    port = lab.server.add_port(net, lab.port_id(), ip="10.75.0.9")
    lab.start_agent()
    pid = dnsmasq_pid(lab, net)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: dnsmasq_pid(lab, net) not in (None, pid), timeout=15)
    vm = lab.add_vm(net, port.id, port.mac_address)
    assert vm.dhcp() == "10.75.0.9"


def test_unreachable_server_never_tears_dhcp_down(lab: Lab) -> None:
    net = lab.net_id(6)
    lab.server.add_network(make_network(net, "10.76.0.0/24"), [lab.host])
    port = lab.server.add_port(net, lab.port_id(), ip="10.76.0.7")
    agent = lab.start_agent()
    pid = dnsmasq_pid(lab, net)
    lab.server.reachable = False
    reports = agent.heartbeat.reports
    wait_until(lambda: net in agent._failed or agent.heartbeat.reports == reports, 5)
    vm = lab.add_vm(net, port.id, port.mac_address)
    assert vm.dhcp() == "10.76.0.7"
    assert dnsmasq_pid(lab, net) == pid
    lab.server.reachable = True
    wait_until(lambda: agent.heartbeat.reports > reports, 10)


def test_new_cidr_restarts_dnsmasq_on_the_new_range(lab: Lab) -> None:
    net = lab.net_id(7)
    lab.server.add_network(make_network(net, "10.77.0.0/24"), [lab.host])
    agent = lab.start_agent()
    pid = dnsmasq_pid(lab, net)
    changed = make_network(net, "10.78.0.0/24")
    changed.revision_number = 2
    lab.server.update_network(changed)
    wait_until(lambda: dnsmasq_pid(lab, net) not in (None, pid))
    # At least 2: the agent's DHCP port on the new subnet is a change of its own, as on the
    # real server.
    wait_until(lambda: net in agent.applied and agent.applied[net].network.revision_number >= 2)
    port = lab.server.add_port(net, lab.port_id(), ip="10.78.0.30")
    vm = lab.add_vm(net, port.id, port.mac_address)
    hosts = ConfPaths.for_network(str(lab.tmp / "dhcp"), net).hosts
    wait_until(lambda: port.mac_address in Path(hosts).read_text())
    assert vm.dhcp() == "10.78.0.30"
