"""The agent transport contract: every driver (HTTP, RabbitMQ) and the FakeServer that agent
tests use in the server's place pass these same tests."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from neutrino.agent_protocol.messages import DeviceList, DhcpPortRequest, Event
from neutrino.neutron_names import DEVICE_OWNER_DHCP
from neutrino.transport.client import AgentRefused, AgentServerClient, TransportError
from tests.contract.deployments import TRANSPORTS, Deployment, ServerDeployment
from tests.support.agents import dhcp_state, register
from tests.support.broker import restart_broker
from tests.support.waiting import wait_until


def _tag() -> str:
    return uuid.uuid4().hex[:6]


def _hosted_network(dep: Deployment, agent_id: str, *cidrs: str) -> str:
    """A network with DHCP subnets, hosted by `agent_id` (whatever auto-scheduling did)."""
    net = dep.admin.network(cidrs, name="c-" + _tag()).id
    dep.admin.host(net, agent_id)
    return net


class Collector:
    """Follows one host's events the way an agent's loop does, keeping what it saw."""

    def __init__(self, client: AgentServerClient, host: str, after: int | None = None) -> None:
        self.client, self.host = client, host
        self.after = client.wait_events(host, -1, 0).latest_revision if after is None else after
        self.seen: list[Event] = []

    def poll(self, timeout: float = 0.5) -> list[Event]:
        batch = self.client.wait_events(self.host, self.after, timeout)
        self.after = max([self.after, batch.latest_revision,
                          *(e.revision for e in batch.events)])
        self.seen.extend(batch.events)
        return self.seen

    def wait_for(self, event: str, network_id: str, timeout: float = 10.0) -> None:
        wait_until(lambda: any(e.event == event and e.network_id == network_id
                               for e in self.poll()), timeout,
                   message=f"{event} of {network_id} on {self.host}")


# ---- state reports -----------------------------------------------------------------------------

def test_first_report_registers_and_later_reports_keep_the_id(deployment: Deployment) -> None:
    client = deployment.client()
    host = "HostR-" + _tag()
    first = client.report_state(dhcp_state(host, start=True))
    again = client.report_state(dhcp_state(host))
    assert again.agent_id == first.agent_id and again.admin_state_up
    assert deployment.admin.agents(host) == [(first.agent_id, True)]


# ---- calls with replies ------------------------------------------------------------------------

def test_calls_answer_with_network_state_and_manage_the_dhcp_port(deployment: Deployment
                                                                  ) -> None:
    client = deployment.client()
    host = "HostC-" + _tag()
    _, dhcp = register(client, host)
    net = _hosted_network(deployment, dhcp.agent_id, "10.61.0.0/24")

    assert net in {r.id for r in client.get_active_networks(host)}
    info = client.get_network_info(host, net)
    assert info is not None and [s.cidr for s in info.subnets] == ["10.61.0.0/24"]
    assert client.get_network_info(host, str(uuid.uuid4())) is None

    request = DhcpPortRequest(network_id=net, device_id=f"dhcp-{host}", host=host)
    port = client.create_dhcp_port(request)
    assert port.device_owner == DEVICE_OWNER_DHCP and port.fixed_ips[0].ip_address.startswith(
        "10.61.0.")
    assert client.create_dhcp_port(request).id == port.id  # reused, not a second port
    assert client.update_dhcp_port(port.id, request).id == port.id
    client.dhcp_ready_on_ports([port.id])
    assert deployment.admin.port_status(port.id) == "ACTIVE"
    assert port.id in {d.port_id for d in client.get_l2_state(host).devices}

    client.release_dhcp_port(net, f"dhcp-{host}", host)
    info = client.get_network_info(host, net)
    assert info is not None and port.id not in {p.id for p in info.ports}


def test_a_wiring_report_shows_in_the_hosts_l2_state_only_from_the_bound_host(
        deployment: Deployment) -> None:
    # The Linux bridge agent's tests drive FakeServer's `wired`; this keeps it the server's.
    client = deployment.client()
    host = "HostW-" + _tag()
    register(client, host)
    net = deployment.admin.network(("10.79.0.0/24",), name="wired-" + _tag())
    port_id, _ = deployment.admin.create_port(net.id, host=host)

    def wired() -> dict[str, bool]:
        return {d.port_id: d.wired for d in client.get_l2_state(host).devices}

    assert wired() == {port_id: False}
    client.update_device_list(host + "-other", DeviceList(devices_up=[port_id]))
    assert wired() == {port_id: False}  # not bound there: changes nothing
    client.update_device_list(host, DeviceList(devices_up=[port_id]))
    assert wired() == {port_id: True}
    client.update_device_list(host, DeviceList(devices_up=[port_id]))  # idempotent
    assert wired() == {port_id: True}
    client.update_device_list(host + "-other", DeviceList(devices_down=[port_id]))
    assert wired() == {port_id: True}  # only the host that wired it unplugs it
    client.update_device_list(host, DeviceList(devices_down=[port_id]))
    assert wired() == {port_id: False}


def test_the_dhcp_port_follows_the_subnets_the_agent_asks_for(deployment: Deployment
                                                              ) -> None:
    client = deployment.client()
    host = "HostP-" + _tag()
    _, dhcp = register(client, host)
    net = deployment.admin.network(("10.65.0.0/24", "10.66.0.0/24"), name="two-" + _tag())
    deployment.admin.host(net.id, dhcp.agent_id)
    first, second = net.subnet_ids
    before = _revision(client, host, net.id)

    request = DhcpPortRequest(network_id=net.id, device_id=f"dhcp-{host}", host=host,
                              subnet_ids=[second])
    port = client.create_dhcp_port(request)
    assert [(f.subnet_id, f.ip_address.startswith("10.66.")) for f in port.fixed_ips] == [
        (second, True)]
    assert _revision(client, host, net.id) > before  # a new port changes the network

    both = request.model_copy(update={"subnet_ids": [first, second]})
    moved = client.update_dhcp_port(port.id, both)
    assert sorted(f.subnet_id for f in moved.fixed_ips) == sorted([first, second])
    kept = {f.subnet_id: f.ip_address for f in moved.fixed_ips}[second]
    assert kept == port.fixed_ips[0].ip_address  # an address it has stays
    info = client.get_network_info(host, net.id)
    assert info is not None
    assert {(p.id, len(p.fixed_ips)) for p in info.ports} == {(port.id, 2)}

    elsewhere = both.model_copy(update={"host": host + "-b", "subnet_ids": []})
    rebound = client.update_dhcp_port(port.id, elsewhere)
    assert rebound.binding_host_id == host + "-b" and len(rebound.fixed_ips) == 2


def test_a_network_update_bumps_its_revision(deployment: Deployment) -> None:
    client = deployment.client()
    host = "HostU-" + _tag()
    _, dhcp = register(client, host)
    net = _hosted_network(deployment, dhcp.agent_id, "10.67.0.0/24")
    before = _revision(client, host, net)
    deployment.admin.rename_network(net, "renamed")
    info = client.get_network_info(host, net)
    assert info is not None and info.name == "renamed" and info.revision_number > before
    assert {n.id: n.revision_number for n in client.get_active_networks(host)}[net] == (
        info.revision_number)


def test_releasing_the_dhcp_port_is_an_event_and_a_new_revision(deployment: Deployment
                                                                ) -> None:
    client = deployment.client()
    host = "HostL-" + _tag()
    _, dhcp = register(client, host)
    net = _hosted_network(deployment, dhcp.agent_id, "10.68.0.0/24")
    port = client.create_dhcp_port(DhcpPortRequest(network_id=net, device_id=f"dhcp-{host}",
                                                   host=host))
    follow = Collector(client, host)
    before = _revision(client, host, net)
    client.release_dhcp_port(net, f"dhcp-{host}", host)
    follow.wait_for("port.delete", net)
    assert port.id in {e.resource_id for e in follow.seen if e.event == "port.delete"}
    assert _revision(client, host, net) > before


def _revision(client: AgentServerClient, host: str, network_id: str) -> int:
    info = client.get_network_info(host, network_id)
    assert info is not None
    return info.revision_number


def test_a_refused_call_raises_agent_refused(deployment: Deployment) -> None:
    client = deployment.client()
    with pytest.raises(AgentRefused):
        client.create_dhcp_port(DhcpPortRequest(network_id=str(uuid.uuid4()),
                                                device_id="dhcp-x", host="HostX"))
    _, dhcp = register(client, "HostX-" + _tag())
    net = _hosted_network(deployment, dhcp.agent_id, "10.69.0.0/24")
    with pytest.raises(AgentRefused):
        client.update_dhcp_port(str(uuid.uuid4()), DhcpPortRequest(
            network_id=net, device_id="dhcp-x", host="HostX"))


# ---- casts to one host and fanout ------------------------------------------------------------

def test_host_events_reach_that_host_and_fanout_reaches_every_agent(deployment: Deployment
                                                                      ) -> None:
    tag = _tag()
    client_a, client_b = deployment.client(), deployment.client()
    _, a = register(client_a, f"HostA-{tag}")
    register(client_b, f"HostB-{tag}")
    on_a, on_b = Collector(client_a, f"HostA-{tag}"), Collector(client_b, f"HostB-{tag}")
    net = deployment.admin.network((), name="cast").id
    deployment.admin.host(net, a.agent_id)
    # A change for everyone, after the cast: once B sees it, B has seen all it will.
    deployment.admin.rename_network(net, "cast2")
    on_a.wait_for("agent.network_added", net)
    on_a.wait_for("network.update", net)
    on_b.wait_for("network.update", net)
    assert not [e for e in on_b.seen if e.event == "agent.network_added"
                and e.network_id == net]


def test_a_change_reaches_a_waiting_agent_promptly(deployment: Deployment) -> None:
    client = deployment.client()
    host = "HostW-" + _tag()
    after = client.wait_events(host, -1, 0).latest_revision
    result: dict[str, float] = {}
    calling = threading.Event()

    def wait() -> None:
        began = time.monotonic()
        calling.set()
        batch = client.wait_events(host, after, 20)
        result.update(waited=time.monotonic() - began, events=len(batch.events))

    waiter = threading.Thread(target=wait)
    waiter.start()
    # The change follows the waiter's call: it is (nearly always) already blocked when the
    # change lands, and either way the change must reach it well before its 20 s are up.
    assert calling.wait(10)
    deployment.admin.network((), name="wake")
    waiter.join(25)
    assert result["events"] >= 1 and result["waited"] < 3, result


# ---- disconnection and restarts ----------------------------------------------------------------

def test_agent_disconnected_while_changes_happen_converges_after_reconnecting(
        deployment: Deployment) -> None:
    host = "HostD-" + _tag()
    first = deployment.client()
    _, dhcp = register(first, host)
    net = _hosted_network(deployment, dhcp.agent_id, "10.62.0.0/24")
    cursor = Collector(first, host).after
    first.close()  # the agent is gone...
    port_id, _ = deployment.admin.create_port(net)  # ...while its network changes
    again = Collector(deployment.client(), host, after=cursor)
    again.wait_for("port.create", net)
    info = again.client.get_network_info(host, net)
    assert info is not None and port_id in {p.id for p in info.ports}


# Only a real server can be stopped and started again: the FakeServer lives in the test's
# process and is not parametrised here, so the suite reports no skip for it.
@pytest.mark.parametrize("deployment", TRANSPORTS, indirect=True)
def test_agent_keeps_working_across_a_server_restart(deployment: Deployment) -> None:
    assert isinstance(deployment, ServerDeployment)
    host = "HostS-" + _tag()
    client = deployment.client(timeout=2.0)
    _, dhcp = register(client, host)
    follow = Collector(client, host)
    deployment.stop_server()
    with pytest.raises(TransportError):
        client.report_state(dhcp_state(host))
    deployment.start_server()
    wait_until(lambda: _reports(client, host), 20, interval=0.2, message="report after restart")
    net = _hosted_network(deployment, dhcp.agent_id, "10.63.0.0/24")
    follow.wait_for("agent.network_added", net, timeout=20)


# Only the RabbitMQ driver has a broker to restart: not parametrised over HTTP at all, so
# the suite reports no skip for it.
@pytest.mark.parametrize("deployment", ["rabbit"], indirect=True)
def test_agent_keeps_working_across_a_broker_restart(deployment: Deployment) -> None:
    assert isinstance(deployment, ServerDeployment)
    host = "HostB-" + _tag()
    client = deployment.client(timeout=3.0)
    _, dhcp = register(client, host)
    follow = Collector(client, host)
    restart_broker()
    wait_until(lambda: _reports(client, host), 60, interval=0.5, message="report after restart")
    net = _hosted_network(deployment, dhcp.agent_id, "10.64.0.0/24")
    follow.wait_for("agent.network_added", net, timeout=30)


def _reports(client: AgentServerClient, host: str) -> bool:
    try:
        client.report_state(dhcp_state(host))
    except TransportError:
        return False
    return True
