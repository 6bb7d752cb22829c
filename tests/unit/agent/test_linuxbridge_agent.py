"""The Linux bridge agent's loops with a stub in place of the kernel's links."""
from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Iterator

import pytest
from kombu.exceptions import OperationalError

from neutrino.agent.l2_plan import L2Config, LinkPlan, LocalLinks
from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.naming import tap_name
from neutrino.agent.settings import L2AgentSettings, ServerAccess
from neutrino.transport.client import TransportError
from neutrino.transport.messages import PortInfo
from tests.support.waiting import wait_until

from .fakes import FakeServer, FlakyClient, make_network

HOST = "HostA"


class StubDevices:
    """Nothing exists on the host; what the agent would wire is recorded."""

    def __init__(self) -> None:
        self.applied: list[LinkPlan] = []

    def read(self) -> LocalLinks:
        return LocalLinks()

    def apply(self, plan: LinkPlan, local: LocalLinks, config: L2Config) -> None:
        self.applied.append(plan)

    def interface_with(self, address: str) -> str | None:
        return None


def l2_settings() -> L2AgentSettings:
    return L2AgentSettings(
        host=HOST, state_path="/nonexistent", debug=False,
        server=ServerAccess("http://controller:9696/", "u", "p"), report_interval=30,
        availability_zone="nova", polling_interval=1, resync_interval=60,
        physical_interface_mappings={}, enable_vxlan=True, local_ip="192.0.2.1",
        vxlan_group=None, l2_population=False, vxlan_udp_port=4789, vxlan_ttl=None)


@pytest.fixture
def running() -> Iterator[tuple[LinuxBridgeAgent, FlakyClient, threading.Thread]]:
    server = FakeServer()
    server.add_network(make_network("net-1"), [HOST])
    flaky = FlakyClient(server)
    agent = LinuxBridgeAgent(l2_settings(), flaky, long_poll_timeout=0.2)
    agent.devices = StubDevices()  # type: ignore[assignment]
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), name="l2-agent-test")
    thread.start()
    try:
        wait_until(agent.converged.is_set, 5, message="the first convergence")
        yield agent, flaky, thread
    finally:
        stop.set()
        thread.join(10)


def test_get_l2_state_failing_with_einval_does_not_end_the_agent(
        running: tuple[LinuxBridgeAgent, FlakyClient, threading.Thread],
        caplog: pytest.LogCaptureFixture) -> None:
    # What ended the process when its host lost its route to the controller.
    agent, flaky, thread = running
    caplog.set_level(logging.INFO)
    flaky.fail("*", OperationalError("[Errno 22] Invalid argument"),
               OSError(errno.EINVAL, "Invalid argument"), TransportError("timed out"))
    agent._changed.set()  # a refresh now, while the route is gone
    wait_until(lambda: agent.reach.reachable is False, 10, message="the outage noticed")
    wait_until(lambda: flaky.count("wait_events") >= 6, 10, message="the watcher retrying")
    threads = {t.name for t in threading.enumerate()}
    assert thread.is_alive() and {"events", "heartbeat"} <= threads
    port = flaky.server.add_port("net-1", "vm-port", host=HOST)
    flaky.heal()
    wait_until(lambda: agent.state is not None
               and port.id in {d.port_id for d in agent.state.devices}, 5,
               message="the refresh after the repair")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0]
    # The two errors a driver should have wrapped: one traceback each, not one per retry.
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) <= 2


def test_event_stream_state_is_in_the_report(
        running: tuple[LinuxBridgeAgent, FlakyClient, threading.Thread]) -> None:
    agent, flaky, _ = running
    wait_until(lambda: agent.agent_state().configurations["event_stream"] == "connected", 5)
    flaky.fail("wait_events", TransportError("GET /events: server error 500"))
    wait_until(lambda: flaky.server.reports[-1].configurations["event_stream"]
               == "disconnected", 5, message="a report saying the agent is deaf")
    flaky.heal()
    wait_until(lambda: flaky.server.reports[-1].configurations["event_stream"]
               == "connected", 5, message="a report saying it hears again")


def test_after_a_failure_the_first_poll_returns_at_once() -> None:
    # A long-poll only succeeds when it ends: a quick one says at once that the stream is
    # back (and brings what was missed), then long ones follow.
    flaky = FlakyClient(FakeServer())
    agent = LinuxBridgeAgent(l2_settings(), flaky, long_poll_timeout=5.0)
    stop = threading.Event()
    agent.poll_events(stop)
    agent.poll_events(stop)
    flaky.fail("wait_events", TransportError("reset"))
    agent.poll_events(stop)
    flaky.heal()
    agent.poll_events(stop)
    agent.poll_events(stop)
    assert flaky.poll_timeouts == [0.0, 5.0, 5.0, 0.0, 5.0]


def test_the_state_is_refreshed_as_soon_as_the_server_answers_again(
        running: tuple[LinuxBridgeAgent, FlakyClient, threading.Thread]) -> None:
    agent, flaky, _ = running
    flaky.fail("*", TransportError("connection refused"))
    wait_until(lambda: agent.reach.reachable is False, 10, message="the outage noticed")
    # Bound while the agent could not hear, and no event says so: resync_interval is 60 s,
    # so only the refresh on recovery can find it within seconds.
    net = flaky.server.networks["net-1"]
    port = PortInfo.model_validate({
        "id": "vm-quiet", "network_id": net.id, "mac_address": "fa:16:3e:00:00:99",
        "device_owner": "compute:nova", "binding:host_id": HOST})
    net.ports.append(port)
    flaky.heal()
    wait_until(lambda: agent.state is not None
               and port.id in {d.port_id for d in agent.state.devices}, 5,
               message="the refresh on recovery")


class TapsDevices(StubDevices):
    """The host has the taps named in `taps`; what is applied counts as done."""

    def __init__(self) -> None:
        super().__init__()
        self.taps: set[str] = set()

    def read(self) -> LocalLinks:
        return LocalLinks(kinds={t: "veth" for t in self.taps})


def test_wired_and_unplugged_ports_are_reported_to_the_server() -> None:
    server = FakeServer()
    server.add_network(make_network("net-1"), [HOST])
    port = server.add_port("net-1", "vm-port-1", host=HOST)
    flaky = FlakyClient(server)
    agent = LinuxBridgeAgent(l2_settings(), flaky, long_poll_timeout=0.2)
    devices = TapsDevices()
    agent.devices = devices  # type: ignore[assignment]
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), name="l2-agent-test")
    thread.start()
    try:
        wait_until(agent.converged.is_set, 5, message="the first convergence")
        assert server.wired == {}  # bound, but no tap on the host yet
        devices.taps.add(tap_name(port.id))  # the VM is plugged in
        wait_until(lambda: server.wired == {port.id: HOST}, 5, message="the port reported up")
        devices.taps.clear()  # the VM is gone
        wait_until(lambda: server.wired == {}, 5, message="the port reported down")
    finally:
        stop.set()
        thread.join(10)
    assert [(r.devices_up, r.devices_down) for _, r in server.device_reports] == [
        ([port.id], []), ([], [port.id])]
