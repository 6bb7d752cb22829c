"""An agent's heartbeat: report_state on its own thread, never behind sync work.

While reports get through it reports every `interval` seconds. While they fail it retries
at most a second apart (start to start) with a short per-call timeout: a connection that
hangs (a route blackholed mid-call) is given up after FAILING_TIMEOUT, so the server sees
the agent alive again within about a second of the repair. Each outcome goes to the
agent's Reachability: a report that gets through wakes the agent's other loops.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from neutrino.agent.reachability import Reachability
from neutrino.agent_protocol.messages import AgentState, ReportResult
from neutrino.transport.client import AgentServerClient

LOG = logging.getLogger(__name__)

# Per-call timeout while reports fail. The server answers a report from memory, in
# milliseconds; a report that takes a second is stuck on a dead connection.
FAILING_TIMEOUT = 1.0
CHANNEL = "heartbeat"


class Heartbeat:
    def __init__(self, client: AgentServerClient, make_state: Callable[[], AgentState],
                 interval: float, reachability: Reachability | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.make_state = make_state
        self.interval = interval
        self.reach = reachability or Reachability("the server")
        self.channel = self.reach.channel(CHANNEL)
        self.clock = clock
        self.agent_id: str | None = None
        self.reports = 0
        self._started = False  # start_flag stays set until one report got through
        self._stop = threading.Event()
        self._wake = threading.Event()  # stop() or report_soon()
        self._thread: threading.Thread | None = None
        self._admin_state_up = True

    def report_once(self) -> ReportResult | None:
        """One report; None if it did not get through (the Reachability logs why)."""
        state = self.make_state()
        state.start_flag = not self._started
        timeout = FAILING_TIMEOUT if self.channel.ok is False else None
        with self.channel.attempt() as call:
            result = self.client.report_state(state, timeout=timeout)
        if not call.ok:
            return None
        if not self._started:
            LOG.info("%s on %s registered as agent %s", state.agent_type, state.host,
                     result.agent_id)
        self._started = True
        self.agent_id = result.agent_id
        self.reports += 1
        if result.admin_state_up != self._admin_state_up:
            LOG.info("agent %s is %s by the administrator (it keeps serving what it hosts)",
                     result.agent_id, "enabled" if result.admin_state_up else "disabled")
            self._admin_state_up = result.admin_state_up
        return result

    def report_soon(self) -> None:
        """Report now rather than at the next interval (the agent's state changed)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = self.clock()
            try:
                delivered = self.report_once() is not None
            except Exception:  # the heartbeat must outlive any bug in building the state
                LOG.exception("heartbeat failed while building the report; carrying on")
                delivered = True  # not the server's fault: keep the normal pace
            if delivered:
                self._wake.wait(self.interval)
            else:
                self.channel.wait(self._wake, spent=self.clock() - began)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
