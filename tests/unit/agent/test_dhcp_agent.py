"""The DHCP agent's control loop with a stub in place of namespaces and dnsmasq."""
from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from neutrino.agent import dhcp_agent
from neutrino.agent.changes import Applied
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import DnsmasqFiles
from neutrino.agent.settings import DhcpAgentSettings, ServerAccess
from neutrino.agent_protocol.messages import Event, EventBatch, NetworkInfo, PortInfo
from neutrino.transport.client import AgentServerClient, TransportError
from tests.support.fake_server import FakeServer, FlakyClient, make_network
from tests.support.waiting import wait_until

HOST = "HostA"


class StubNetworks:
    """Records what the agent asked for; `applies` like NetworkDhcp would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []
        self.given: list[Applied | None] = []  # the `applied` of each converge call
        self.handovers: list[tuple[str, int]] = []
        self.dnsmasq_running = True
        self.lock = threading.Lock()

    def converge(self, network_id: str, network: NetworkInfo | None,
                 applied: Applied | None) -> Applied | None:
        with self.lock:
            self.calls.append((network_id, network.revision_number if network else None))
            self.given.append(applied)
        if network is None:
            return None
        port = PortInfo.model_validate({"id": "dhcp", "network_id": network_id,
                                        "mac_address": "fa:16:3e:00:00:01"})
        return Applied(network, port, DnsmasqFiles("", "", ""))

    def hand_over(self, network_id: str, applied: Applied, reply_delay: int) -> bool:
        with self.lock:
            self.handovers.append((network_id, reply_delay))
        return self.dnsmasq_running

    def paths(self, network_id: str) -> object:
        return None

    def close(self) -> None:
        return None


def agent_for(server: AgentServerClient, tmp_path: Path, report_interval: int = 30
              ) -> tuple[DhcpAgent, StubNetworks]:
    settings = DhcpAgentSettings(
        host=HOST, state_path=str(tmp_path), debug=False,
        server=ServerAccess("http://x/", "u", "p"), report_interval=report_interval,
        availability_zone="nova", interface_driver="linuxbridge", dhcp_driver="dnsmasq",
        dhcp_confs=str(tmp_path / "dhcp"), dhcp_lease_duration=120, dnsmasq_dns_servers=[],
        num_sync_threads=2, resync_interval=60, namespace_prefix="qdhcp-unit-test-",
        kill_dnsmasq_on_exit=False, dnsmasq_path="dnsmasq")
    agent = DhcpAgent(settings, server)
    stub = StubNetworks()
    agent.networks = stub  # type: ignore[assignment]
    return agent, stub


def drain(agent: DhcpAgent) -> None:
    agent._pool.submit(lambda: None).result()
    agent._pool.shutdown(wait=True)


@pytest.fixture
def server() -> FakeServer:
    fake = FakeServer()
    fake.add_network(make_network("net-1"), [HOST])
    fake.add_network(make_network("net-2"), [HOST])
    fake.add_network(make_network("net-other"), ["HostB"])
    return fake


def test_full_sync_converges_every_hosted_network(server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    assert agent.sync_all(wait_done=True)
    assert sorted(stub.calls) == [("net-1", 0), ("net-2", 0)]
    state = agent.agent_state()
    assert state.configurations["networks"] == 2
    assert state.configurations["dhcp_lease_time"] == 120
    assert state.configurations["use_namespaces"] is True


def test_events_are_coalesced_per_network(server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    events = [Event(revision=10 + i, event="port.update", resource="port", resource_id=f"p{i}",
                    network_id="net-1") for i in range(5)]
    events.append(Event(revision=20, event="network.update", resource="network",
                        resource_id="net-2"))
    events.append(Event(revision=21, event="agent.updated", resource="agent",
                        resource_id="a"))
    agent.handle_events(EventBatch(events=events, latest_revision=21))
    drain(agent)
    assert sorted(n for n, _ in stub.calls) == ["net-1", "net-2"]
    assert agent.after == 21


def test_network_removed_from_agent_is_torn_down(server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    agent.sync_all(wait_done=True)
    server.unhost("net-1", HOST)
    agent.handle_events(server.wait_events(HOST, 3, 0))
    drain(agent)
    assert ("net-1", None) in stub.calls and "net-1" not in agent.applied


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def handing_over(server: FakeServer, tmp_path: Path, grace: int = 5
                 ) -> tuple[DhcpAgent, StubNetworks, FakeClock]:
    """An agent with a handover grace and a clock the test moves, net-1 just unhosted."""
    agent, stub = agent_for(server, tmp_path)
    agent.settings = agent.settings.replace(dhcp_handover_grace=grace)
    clock = FakeClock()
    agent.clock = clock
    agent.sync_all(wait_done=True)
    server.unhost("net-1", HOST)
    return agent, stub, clock


def confirmations(agent: DhcpAgent, network_id: str) -> list[bool]:
    return [item.serving for item in agent.reporter.pending() if item.network_id == network_id]


def test_a_network_leaving_is_handed_over_then_torn_down(server: FakeServer,
                                                          tmp_path: Path) -> None:
    agent, stub, clock = handing_over(server, tmp_path)
    try:
        agent._converge_locked("net-1", refetch=True)
        # Still served, offers delayed; no longer counted as this agent's network.
        assert stub.handovers == [("net-1", 2)]
        assert ("net-1", None) not in stub.calls
        assert agent.applied["net-1"].leaving_until == clock.now + 5
        assert agent.agent_state().configurations["networks"] == 1
        assert confirmations(agent, "net-1") == [True]  # from the sync; no teardown yet
        clock.now += 4.9
        agent._converge_locked("net-1", refetch=True)  # an event or resync meanwhile
        assert ("net-1", None) not in stub.calls and len(stub.handovers) == 1
        clock.now += 0.1
        agent._converge_locked("net-1", refetch=True)  # the grace is over
        assert ("net-1", None) in stub.calls and "net-1" not in agent.applied
        assert confirmations(agent, "net-1") == [False]
        assert agent._handovers == {}
    finally:
        agent.shutdown()


def test_a_network_hosted_again_during_its_handover_starts_afresh(server: FakeServer,
                                                                  tmp_path: Path) -> None:
    agent, stub, clock = handing_over(server, tmp_path)
    try:
        agent._converge_locked("net-1", refetch=True)
        assert agent.applied["net-1"].leaving_until is not None
        server.host("net-1", HOST)
        agent._converge_locked("net-1", refetch=True)
        # Converged as if new (a fresh dnsmasq, without the delay), not as a leaving one.
        assert stub.calls[-1] == ("net-1", 0) and stub.given[-1] is None
        assert agent.applied["net-1"].leaving_until is None
        assert agent._handovers == {}
        assert agent.agent_state().configurations["networks"] == 2
    finally:
        agent.shutdown()


def test_a_pass_from_the_cache_does_not_bring_a_leaving_network_back(
        server: FakeServer, tmp_path: Path) -> None:
    """check_dnsmasq may queue a pass without refetch while the handover restarts dnsmasq:
    only the server can say the network is hosted here again."""
    agent, stub, _ = handing_over(server, tmp_path)
    try:
        agent._converge_locked("net-1", refetch=True)
        agent._converge_locked("net-1", refetch=False)
        assert agent.applied["net-1"].leaving_until is not None
        assert len(stub.handovers) == 1 and stub.calls.count(("net-1", 0)) == 1
    finally:
        agent.shutdown()


def test_without_a_running_dnsmasq_a_leaving_network_is_torn_down_at_once(
        server: FakeServer, tmp_path: Path) -> None:
    agent, stub, _ = handing_over(server, tmp_path)
    stub.dnsmasq_running = False
    try:
        agent._converge_locked("net-1", refetch=True)
        assert ("net-1", None) in stub.calls and "net-1" not in agent.applied
    finally:
        agent.shutdown()


def test_the_handover_ends_by_itself_after_the_grace(server: FakeServer,
                                                     tmp_path: Path) -> None:
    """The last pass is timed: no event or resync is needed for the teardown."""
    agent, stub = agent_for(server, tmp_path)
    agent.settings = agent.settings.replace(dhcp_handover_grace=1)
    try:
        agent.sync_all(wait_done=True)
        server.unhost("net-1", HOST)
        agent.schedule("net-1")
        wait_until(lambda: ("net-1", None) in stub.calls, 10, 0.05, "teardown after the grace")
        assert stub.handovers == [("net-1", 1)] and "net-1" not in agent.applied
    finally:
        agent.shutdown()


def test_stale_revision_is_ignored(server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    newer = make_network("net-1")
    newer.revision_number = 5
    server.update_network(newer)
    agent.sync_all(wait_done=True)
    older = make_network("net-1")
    older.revision_number = 4
    server.networks["net-1"] = older
    stub.calls.clear()
    agent.schedule("net-1")
    drain(agent)
    assert stub.calls == [] and agent.applied["net-1"].network.revision_number == 5


def test_unreachable_server_marks_for_retry_and_tears_nothing_down(
        server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    agent.sync_all(wait_done=True)
    server.reachable = False
    stub.calls.clear()
    agent.schedule("net-1")
    assert not agent.periodic_resync()
    drain(agent)
    assert stub.calls == []  # nothing converged to "gone"
    assert "net-1" in agent.applied and "net-1" in agent._failed


def test_periodic_resync_refetches_changed_and_failed_networks(
        server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    agent.sync_all(wait_done=True)
    changed = make_network("net-2")
    changed.revision_number = 3
    server.networks["net-2"] = changed  # no event: only the resync can notice
    server.add_network(make_network("net-3"), [HOST])
    stub.calls.clear()
    assert agent.periodic_resync()
    drain(agent)
    assert sorted(stub.calls) == [("net-2", 3), ("net-3", 0)]


def test_reset_batch_triggers_full_sync(server: FakeServer, tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    agent.handle_events(EventBatch(reset=True, latest_revision=99))
    drain(agent)
    assert sorted(n for n, _ in stub.calls) == ["net-1", "net-2"]
    assert agent.after == 99


# ---- the control plane going away and coming back ------------------------------------------

TRANSPORT_FAILURES: list[Exception] = [
    TransportError("connection refused"),
    OperationalError("[Errno 111] Connection refused"),  # what kombu lets through
    OSError(errno.EINVAL, "Invalid argument"),  # connect() on a blackholed route
    TimeoutError("timed out"),
]


@pytest.fixture
def running(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[DhcpAgent, StubNetworks, FlakyClient, threading.Thread]]:
    """The agent's run() in a thread, over a client that fails on demand."""
    monkeypatch.setattr(dhcp_agent, "LONG_POLL_TIMEOUT", 0.2)
    monkeypatch.setattr(dhcp_agent.dnsmasq, "running_pid", lambda paths: 1)  # all alive
    flaky = FlakyClient(server)
    agent, stub = agent_for(flaky, tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), name="dhcp-agent-test")
    thread.start()
    try:
        wait_until(agent.synced.is_set, 5, message="the initial sync")
        yield agent, stub, flaky, thread
    finally:
        stop.set()
        thread.join(10)


def test_event_stream_state_is_in_the_report(
        running: tuple[DhcpAgent, StubNetworks, FlakyClient, threading.Thread]) -> None:
    agent, _, flaky, _ = running
    wait_until(lambda: agent.agent_state().configurations["event_stream"] == "connected", 5)
    flaky.fail("wait_events", TransportError("502 from the load balancer"))
    wait_until(lambda: agent.agent_state().configurations["event_stream"] == "disconnected", 5)
    # The state change is reported at once, not at the next report_interval (30 s here).
    wait_until(lambda: flaky.server.reports[-1].configurations["event_stream"]
               == "disconnected", 5, message="a report saying the agent is deaf")


def test_heartbeating_but_deaf_is_logged_once(
        running: tuple[DhcpAgent, StubNetworks, FlakyClient, threading.Thread],
        caplog: pytest.LogCaptureFixture) -> None:
    agent, _, flaky, thread = running
    caplog.set_level(logging.INFO)
    flaky.fail("wait_events", TransportError("GET /events: server error 500"))
    wait_until(lambda: flaky.count("wait_events") >= 12, 20, message="a dozen retries")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "event stream failing while other calls" in warnings[0]
    assert agent.reach.reachable is True and thread.is_alive()


def test_the_loop_survives_transport_errors_and_logs_one_line_per_change(
        running: tuple[DhcpAgent, StubNetworks, FlakyClient, threading.Thread],
        caplog: pytest.LogCaptureFixture) -> None:
    agent, _, flaky, thread = running
    caplog.set_level(logging.INFO)
    flaky.fail("*", *TRANSPORT_FAILURES)
    wait_until(lambda: flaky.count("wait_events") >= 10 and flaky.count("report_state") >= 5,
               20, message="retries of both loops")
    assert thread.is_alive() and agent.reach.reachable is False
    flaky.heal()
    wait_until(lambda: agent.reach.reachable and agent.events.ok, 5)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records
             if r.name == "neutrino.agent.reachability"]
    assert [level for level, _ in lines if level != "ERROR"] == ["WARNING", "INFO"], lines
    # A driver that lets a socket or kombu error through: one traceback per type.
    assert len([r for r in caplog.records if r.exc_info]) <= 3


def test_after_an_outage_failed_and_changed_networks_are_refetched_at_once(
        running: tuple[DhcpAgent, StubNetworks, FlakyClient, threading.Thread]) -> None:
    agent, stub, flaky, thread = running
    flaky.fail("*", *TRANSPORT_FAILURES)
    wait_until(lambda: agent.reach.reachable is False, 10, message="the outage noticed")
    agent.schedule("net-1")  # a change notice that arrived just before the outage
    wait_until(lambda: "net-1" in agent._failed, 5)
    changed = make_network("net-2")
    changed.revision_number = 7
    flaky.server.networks["net-2"] = changed  # changed while the agent could not hear
    stub.calls.clear()
    flaky.heal()
    # resync_interval is 60 s: only the recovery explains a refetch within seconds.
    wait_until(lambda: {("net-1", 0), ("net-2", 7)} <= set(stub.calls), 5,
               message="the resync on recovery")
    assert "net-1" not in agent._failed and thread.is_alive()


def test_a_burst_of_changes_to_one_network_makes_few_passes(server: FakeServer,
                                                            tmp_path: Path) -> None:
    agent, stub = agent_for(server, tmp_path)
    agent.sync_all(wait_done=True)
    stub.calls.clear()
    # While a pass runs (or waits out the hold-down), further changes make one more pass.
    for _ in range(200):
        agent.schedule("net-1")
    drain(agent)
    assert 1 <= len(stub.calls) <= 2
