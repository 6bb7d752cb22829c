"""The agent transport contract: every driver (HTTP, RabbitMQ) passes these same tests."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from neutrino.agent_protocol.messages import DhcpPortRequest, Event
from neutrino.neutron_names import DEVICE_OWNER_DHCP
from neutrino.transport.client import AgentRefused, AgentServerClient, TransportError
from tests.contract.conftest import Deployment
from tests.support.agents import dhcp_state, register
from tests.support.broker import restart_broker
from tests.support.server import wait_until


def _tag() -> str:
    return uuid.uuid4().hex[:6]


def _hosted_network(dep: Deployment, agent_id: str, cidr: str) -> str:
    """A network with a DHCP subnet, hosted by `agent_id` (whatever auto-scheduling did)."""
    with dep.server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "c-" + _tag()}}
                     ).json()["network"]["id"]
        r = c.post("/v2.0/subnets", json={"subnet": {"network_id": net, "cidr": cidr}})
        assert r.status_code == 201, r.text
        added = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks", json={"network_id": net})
        assert added.status_code in (201, 409), added.text
    return str(net)


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
    with deployment.server.client() as c:
        agents = c.get("/v2.0/agents", params={"host": host}).json()["agents"]
    assert [(a["id"], a["alive"]) for a in agents] == [(first.agent_id, True)]


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
    with deployment.server.client() as c:
        assert c.get(f"/v2.0/ports/{port.id}").json()["port"]["status"] == "ACTIVE"
    assert port.id in {d.port_id for d in client.get_l2_state(host).devices}

    client.release_dhcp_port(net, f"dhcp-{host}", host)
    info = client.get_network_info(host, net)
    assert info is not None and port.id not in {p.id for p in info.ports}


def test_a_refused_call_raises_agent_refused(deployment: Deployment) -> None:
    client = deployment.client()
    with pytest.raises(AgentRefused):
        client.create_dhcp_port(DhcpPortRequest(network_id=str(uuid.uuid4()),
                                                device_id="dhcp-x", host="HostX"))


# ---- casts to one host and fanout ------------------------------------------------------------

def test_host_events_reach_that_host_and_fanout_reaches_every_agent(deployment: Deployment
                                                                      ) -> None:
    tag = _tag()
    client_a, client_b = deployment.client(), deployment.client()
    _, a = register(client_a, f"HostA-{tag}")
    register(client_b, f"HostB-{tag}")
    on_a, on_b = Collector(client_a, f"HostA-{tag}"), Collector(client_b, f"HostB-{tag}")
    with deployment.server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "cast"}}).json()["network"]["id"]
        assert c.post(f"/v2.0/agents/{a.agent_id}/dhcp-networks",
                      json={"network_id": net}).status_code == 201
        # A change for everyone, after the cast: once B sees it, B has seen all it will.
        assert c.put(f"/v2.0/networks/{net}",
                     json={"network": {"name": "cast2"}}).status_code == 200
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

    def wait() -> None:
        began = time.monotonic()
        batch = client.wait_events(host, after, 20)
        result.update(waited=time.monotonic() - began, events=len(batch.events))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # let the waiter block first: this measures wake-up, not a ready answer
    with deployment.server.client() as c:
        c.post("/v2.0/networks", json={"network": {"name": "wake"}})
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
    with deployment.server.client() as c:  # ...while its network changes
        port = c.post("/v2.0/ports", json={"port": {"network_id": net}}).json()["port"]
    again = Collector(deployment.client(), host, after=cursor)
    again.wait_for("port.create", net)
    info = again.client.get_network_info(host, net)
    assert info is not None and port["id"] in {p.id for p in info.ports}


def test_agent_keeps_working_across_a_server_restart(deployment: Deployment) -> None:
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
