"""Fake DHCP agents for integration tests and benches: they heartbeat over the real HTTP
transport from one thread, and confirm networks (networks_applied) when told to, so a test
decides when an agent becomes ready for a network; or, started with `auto=True`, as a real
agent would: each beat they confirm what they host and have not confirmed yet."""
from __future__ import annotations

import threading
from collections.abc import Iterable

from neutrino.agent.naming import dhcp_device_id
from neutrino.agent_protocol.messages import (
    AgentState,
    DeviceList,
    DhcpPortRequest,
    NetworkApplied,
)
from neutrino.transport.client import TransportError
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agents import agent_client, dhcp_state
from tests.support.server import RunningServer

BEAT = 0.3


class FakeDhcpHosts:
    """`start(host)` registers a DHCP agent; `silence(host)` stops its heartbeats."""

    def __init__(self, server: RunningServer | None, beat: float = BEAT,
                 client: HttpAgentClient | None = None) -> None:
        """`client`: an agent client of a server that is no RunningServer (benches)."""
        assert server is not None or client is not None
        self.client: HttpAgentClient = client or agent_client(server)  # type: ignore[arg-type]
        self.beat = beat
        self.ids: dict[str, str] = {}
        self._states: dict[str, list[AgentState]] = {}
        self._auto: dict[str, set[str]] = {}  # host -> networks it confirmed
        self._with_l2: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, host: str, l2: AgentState | None = None, auto: bool = False) -> str:
        """Register `host`'s DHCP agent, after its L2 agent if given (both then beat)."""
        if l2 is not None:
            self.client.report_state(l2.model_copy(update={"start_flag": True}))
        self.ids[host] = self.client.report_state(dhcp_state(host, start=True)).agent_id
        if l2 is not None:
            self._with_l2.add(host)
        with self._lock:
            self._states[host] = [dhcp_state(host)] + ([l2] if l2 is not None else [])
            if auto:
                self._auto[host] = set()
        return self.ids[host]

    def silence(self, host: str) -> None:
        with self._lock:
            self._states.pop(host, None)
            self._auto.pop(host, None)

    def _confirm_new(self, host: str, done: set[str]) -> None:
        hosted = {ref.id for ref in self.client.get_active_networks(host)}
        new = sorted(hosted - done)
        self.confirm(host, new)
        done.intersection_update(hosted)
        done.update(new)

    def confirm(self, host: str, network_ids: Iterable[str]) -> None:
        """Tell the server `host` serves these networks, at the revision it would fetch.
        A host with an L2 agent first makes its DHCP port, which its L2 agent reports
        wired, as the real agents do (the ready rule waits for both)."""
        network_ids = list(network_ids)
        if host in self._with_l2:
            ports = [self.client.create_dhcp_port(DhcpPortRequest(
                network_id=n, device_id=dhcp_device_id(host, n), host=host)).id
                for n in network_ids]
            for start in range(0, len(ports), 500):
                self.client.update_device_list(host, DeviceList(
                    devices_up=ports[start:start + 500]))
        items = []
        for network_id in network_ids:
            info = self.client.get_network_info(host, network_id)
            if info is not None:
                items.append(NetworkApplied(network_id=network_id,
                                            revision_number=info.revision_number,
                                            serving=True))
        for start in range(0, len(items), 500):
            self.client.networks_applied(host, items[start:start + 500])

    def _run(self) -> None:
        while not self._stop.wait(self.beat):
            with self._lock:
                states = [s for group in self._states.values() for s in group]
                auto = list(self._auto.items())
            try:
                for state in states:
                    self.client.report_state(state)
                for host, done in auto:
                    self._confirm_new(host, done)
            except TransportError:  # a server restarting: the next beat reaches it
                continue

    def __enter__(self) -> FakeDhcpHosts:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
