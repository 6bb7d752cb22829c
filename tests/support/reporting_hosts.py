"""Hosts whose agents keep reporting state from a thread, over the real HTTP transport,
until a test silences one (as if its host died)."""
from __future__ import annotations

import threading

from neutrino.agent_protocol.messages import AgentState
from tests.support.agents import agent_client, dhcp_state
from tests.support.server import RunningServer


class Hosts:
    """Keeps chosen hosts' L2 and DHCP agents heartbeating from a thread."""

    def __init__(self, server: RunningServer, interval: float = 0.3) -> None:
        self.client = agent_client(server)
        self.interval = interval
        self.reports = 0  # rounds of reports sent, for tests that wait for a few
        self.states: dict[str, list[AgentState]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ids: dict[str, str] = {}

    def start(self, host: str, l2: AgentState | None) -> str:
        """Register the host's L2 agent (if any) first, then its DHCP agent."""
        states = ([l2] if l2 is not None else []) + [dhcp_state(host)]
        if l2 is not None:
            self.client.report_state(l2.model_copy(update={"start_flag": True}))
        self.ids[host] = self.client.report_state(dhcp_state(host, start=True)).agent_id
        with self.lock:
            self.states[host] = states
        return self.ids[host]

    def silence(self, host: str) -> None:
        with self.lock:
            self.states.pop(host)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            with self.lock:
                states = [s for group in self.states.values() for s in group]
            for state in states:
                self.client.report_state(state)
            self.reports += 1

    def __enter__(self) -> Hosts:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)
