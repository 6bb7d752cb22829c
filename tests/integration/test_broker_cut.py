"""The broker connection cut and restored under a real server and a real RabbitMQ.

Both the server and the agents reach RabbitMQ through a relay (tests/support/relay.py)
that the test cuts: new connections are refused and open ones reset, as when the broker
restarts or a host loses its route to it; RabbitMQ itself keeps running for other tests.
What must hold (issue 14, items 4 and 5): no thread of the server or the agent dies, calls
work again and pushed events arrive within about a second of the relay accepting again,
and an agent says in its report whether its event stream is connected.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from neutrino.agent.changes import Applied
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths, DnsmasqFiles
from neutrino.agent.settings import DhcpAgentSettings, ServerAccess
from neutrino.agent_protocol.messages import Event, NetworkInfo, PortInfo
from neutrino.transport.client import AgentServerClient, TransportError
from neutrino.transport.rabbit_client import RabbitAgentClient
from neutrino.transport.rabbit_link import BROKER_ERRORS, Link
from neutrino.transport.rabbit_topology import parse_rabbit_url
from tests.support.agents import dhcp_state
from tests.support.broker import delete_topology, require_rabbit, unique_exchange
from tests.support.databases import fresh_database
from tests.support.relay import CuttableRelay, cuttable_relay
from tests.support.server import RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

# The goal is about a second; the bound leaves room for a loaded test machine.
BACK_WITHIN = 3.0


@dataclass
class Deployment:
    server: RunningServer
    relay: CuttableRelay
    relay_url: str
    control_exchange: str
    server_threads: list[threading.Thread]

    def client(self, timeout: float = 2.0) -> RabbitAgentClient:
        return RabbitAgentClient(parse_rabbit_url(self.relay_url), self.control_exchange,
                                 timeout=timeout)

    def thread(self, name: str) -> threading.Thread:
        return next(t for t in self.server_threads if t.name == name)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    url = require_rabbit()
    broker = parse_rabbit_url(url)
    exchange = unique_exchange()
    tmp = str(tmp_path_factory.mktemp("cut"))
    with cuttable_relay((broker.host, broker.port)) as relay, \
            fresh_database("sqlite", tmp) as db_url:
        relay_url = f"rabbit://{broker.userid}:{broker.password}@127.0.0.1:{relay.port}/"
        settings = settings_for(db_url, tmp, agent_down_time=30, transport_url=relay_url,
                                control_exchange=exchange)
        before = set(threading.enumerate())
        try:
            with running_server(settings) as server:
                threads = [t for t in threading.enumerate() if t not in before
                           and t.name in ("rabbit-outbox", "rabbit-server")]
                assert sorted(t.name for t in threads) == ["rabbit-outbox", "rabbit-server"]
                yield Deployment(server, relay, relay_url, exchange, threads)
        finally:
            # Another test may be restarting RabbitMQ right now: wait for it to clean up.
            wait_until(lambda: _deleted(url, exchange), 90, interval=1.0,
                       message="RabbitMQ back, to delete this test's exchanges")


def _deleted(url: str, exchange: str) -> bool:
    try:
        delete_topology(url, exchange)
    except (OSError, *BROKER_ERRORS):
        return False
    return True


def _tag() -> str:
    return uuid.uuid4().hex[:6]


def _host_network(dep: Deployment, agent_id: str) -> str:
    """A new network, hosted by `agent_id`: an agent.network_added cast to its host."""
    with dep.server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "cut-" + _tag()}}
                     ).json()["network"]["id"]
        added = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks", json={"network_id": net})
        assert added.status_code == 201, added.text
    return str(net)


def _reports(client: AgentServerClient, host: str) -> bool:
    try:
        client.report_state(dhcp_state(host), timeout=1.0)
    except TransportError:
        return False
    return True


class Follower:
    """Reads one host's events the way an agent's loop does."""

    def __init__(self, client: AgentServerClient, host: str) -> None:
        self.client, self.host = client, host
        self.after = client.wait_events(host, -1, 0).latest_revision
        self.seen: list[Event] = []

    def saw(self, event: str, network_id: str) -> bool:
        try:
            batch = self.client.wait_events(self.host, self.after, 0.2)
        except TransportError:
            return False
        self.after = max([self.after, batch.latest_revision,
                          *(e.revision for e in batch.events)])
        self.seen.extend(batch.events)
        return any(e.event == event and e.network_id == network_id for e in self.seen)


def test_the_server_and_an_agent_client_come_back_within_a_second_of_the_broker(
        deployment: Deployment, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    dep = deployment
    host = "HostCut-" + _tag()
    client = dep.client()
    try:
        agent_id = client.report_state(dhcp_state(host, start=True)).agent_id
        follow = Follower(client, host)

        dep.relay.cut()
        with pytest.raises(TransportError):
            client.report_state(dhcp_state(host), timeout=1.0)
        with pytest.raises(TransportError):  # the agent learns that it is deaf
            client.wait_events(host, follow.after, 1.0)
        # Changes while the broker is away: the server's outbox meets refused connections
        # (the kombu OperationalError that used to end the thread).
        missed = _host_network(dep, agent_id)
        wait_until(lambda: any("dropping messages" in r.getMessage() for r in caplog.records),
                   10, message="the outbox dropping a message to the cut broker")
        assert dep.thread("rabbit-outbox").is_alive()

        began = time.monotonic()
        dep.relay.restore()
        wait_until(lambda: _reports(client, host), 10, interval=0.01,
                   message="a call answered after the restore")
        calls_back = time.monotonic() - began
        wait_until(lambda: follow.saw("agent.network_added", missed), 10, interval=0,
                   message="the change made during the cut")
        missed_back = time.monotonic() - began

        # Now a push, not a read of the event log (the client reads it every 15 s).
        pushed_at = time.monotonic()
        net = _host_network(dep, agent_id)
        wait_until(lambda: follow.saw("agent.network_added", net), 10, interval=0,
                   message="a pushed event after the restore")
        push_took = time.monotonic() - pushed_at
    finally:
        client.close()
    print(f"\ncalls back after {calls_back:.2f} s, the missed change after "
          f"{missed_back:.2f} s; a push then took {push_took:.2f} s")
    assert calls_back < BACK_WITHIN and missed_back < BACK_WITHIN and push_took < BACK_WITHIN
    assert all(t.is_alive() for t in dep.server_threads)
    assert any("sending to agents again" in r.getMessage() for r in caplog.records)


class StubNetworks:
    """Records what the agent converged instead of running dnsmasq."""

    def __init__(self, confs: Path) -> None:
        self.confs = confs
        self.converged: set[str] = set()

    def converge(self, network_id: str, network: NetworkInfo | None,
                 applied: Applied | None) -> Applied | None:
        if network is None:
            return None
        self.converged.add(network_id)
        port = PortInfo.model_validate({"id": f"dhcp-{network_id}", "network_id": network_id,
                                        "mac_address": "fa:16:3e:00:00:01"})
        return Applied(network, port, DnsmasqFiles("", "", ""))

    def paths(self, network_id: str) -> ConfPaths:
        return ConfPaths.for_network(str(self.confs), network_id)


def _agent_show(dep: Deployment, agent_id: str) -> dict[str, object]:
    with dep.server.client() as c:
        return dict(c.get(f"/v2.0/agents/{agent_id}").json()["agent"])


def test_a_dhcp_agent_reports_its_event_stream_and_converges_right_after_the_cut(
        deployment: Deployment, tmp_path: Path) -> None:
    dep = deployment
    host = "HostAgent-" + _tag()
    settings = DhcpAgentSettings(
        host=host, state_path=str(tmp_path), debug=False,
        server=ServerAccess(parse_rabbit_url(dep.relay_url).redacted(), "guest", "guest"),
        report_interval=30,
        availability_zone="nova", interface_driver="linuxbridge", dhcp_driver="dnsmasq",
        dhcp_confs=str(tmp_path / "dhcp"), dhcp_lease_duration=120, dnsmasq_dns_servers=[],
        num_sync_threads=2, resync_interval=600, namespace_prefix="qdhcp-cut-test-",
        kill_dnsmasq_on_exit=False, dnsmasq_path="dnsmasq")
    client = dep.client()
    agent = DhcpAgent(settings, client)
    stub = StubNetworks(tmp_path / "dhcp")
    agent.networks = stub  # type: ignore[assignment]
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,), name="dhcp-agent-cut")
    runner.start()
    try:
        wait_until(lambda: agent.synced.is_set() and agent.heartbeat.agent_id, 20)
        agent_id = str(agent.heartbeat.agent_id)
        wait_until(lambda: agent.events.ok, 10)
        agent.heartbeat.report_soon()
        wait_until(lambda: _agent_show(dep, agent_id)["configurations"]
                   .get("event_stream") == "connected", 10)  # type: ignore[union-attr]

        dep.relay.cut()
        wait_until(lambda: agent.reach.reachable is False and agent.events.ok is False, 10,
                   message="the agent noticing the cut")
        reports = agent.heartbeat.reports
        began = time.monotonic()
        dep.relay.restore()
        # report_interval is 30 s: only the fast retries explain a report within seconds.
        wait_until(lambda: agent.heartbeat.reports > reports, 10, interval=0.01,
                   message="a heartbeat after the restore")
        heartbeat_back = time.monotonic() - began
        net = _host_network(dep, agent_id)
        hosted_at = time.monotonic()
        wait_until(lambda: net in stub.converged, 10, interval=0.01,
                   message="the network hosted after the restore converged")
        converged = time.monotonic() - hosted_at
        wait_until(lambda: _agent_show(dep, agent_id)["configurations"]
                   .get("event_stream") == "connected", 10)  # type: ignore[union-attr]
        assert runner.is_alive()
        assert {"heartbeat"} <= {t.name for t in threading.enumerate()}
    finally:
        stop.set()
        runner.join(15)
        client.close()
    print(f"\nheartbeat delivered {heartbeat_back:.2f} s after the restore; a network "
          f"hosted then converged in {converged:.2f} s")
    assert heartbeat_back < BACK_WITHIN and converged < BACK_WITHIN
    assert not runner.is_alive()


def test_an_idle_publishing_connection_outlives_the_heartbeat_timeout() -> None:
    # py-amqp declared it dead after two heartbeat intervals because nothing read it: every
    # 20 s a reconnect (and an INFO line) for nothing.
    link = Link(parse_rabbit_url(require_rabbit()), "idle-" + _tag(), lambda channel: [],
                heartbeat=1).start()
    try:
        wait_until(link.ready.is_set, 10)
        link.publish(b"{}", exchange="", routing_key="nobody-" + _tag())
        first = link._pub_conn
        deadline = time.monotonic() + 4.0  # four heartbeat intervals
        while time.monotonic() < deadline:
            assert link._pub_conn is first and first.connected
            time.sleep(0.1)
        link.publish(b"{}", exchange="", routing_key="nobody-" + _tag())
        assert link._pub_conn is first
    finally:
        link.stop()
