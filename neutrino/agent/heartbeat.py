"""An agent's heartbeat: report_state on its own thread, never behind sync work."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from neutrino.transport.client import AgentRefused, AgentServerClient, TransportError
from neutrino.transport.messages import AgentState, ReportResult

LOG = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, client: AgentServerClient, make_state: Callable[[], AgentState],
                 interval: float) -> None:
        self.client = client
        self.make_state = make_state
        self.interval = interval
        self.agent_id: str | None = None
        self.reports = 0
        self._started = False  # start_flag stays set until one report got through
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._admin_state_up = True

    def report_once(self) -> ReportResult | None:
        state = self.make_state()
        state.start_flag = not self._started
        try:
            result = self.client.report_state(state)
        except (TransportError, AgentRefused) as exc:
            LOG.warning("heartbeat of %s on %s not delivered: %s", state.agent_type,
                        state.host, exc)
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

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.report_once()
            except Exception:  # the heartbeat must outlive any bug in building the state
                LOG.exception("heartbeat failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
