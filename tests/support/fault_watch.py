"""What the fault checks watch while a fault runs and after it: the bindings (polled), the
probe VMs of new ports, moments that must come, and when each agent is seen alive again."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neutrino.cli.api import CliError, ServerError
from neutrino.lab.vms import Vm
from tests.support.dhcp_loops import Answer, DhcpLoop, first_lease
from tests.support.fault_lab import AgentKey, Bindings, FaultLab

WATCH_PERIOD = 0.5


@dataclass
class Watch:
    """Polls the bindings while the fault runs; remembers every different answer and every
    API error (during a database outage the API must say 503)."""

    lab: FaultLab
    seen: list[tuple[float, Bindings]] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="binding-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                snapshot = self.lab.bindings()
                if not self.seen or self.seen[-1][1] != snapshot:
                    self.seen.append((began, snapshot))
            except ServerError as exc:
                self.errors.append((began, f"HTTP {exc.status} {exc.error_type}"))
            except CliError:  # no replica answered at all
                self.errors.append((began, "no replica answered"))
            self.slowest = max(self.slowest, time.monotonic() - began)
            self._stop.wait(WATCH_PERIOD)


@dataclass
class Probe:
    """A VM booted on a new port right after the fault, and when it was served."""

    vm: Vm
    created: float
    loops: list[DhcpLoop]
    in_hosts_files: float | None = None  # seconds after `created`

    def lease(self) -> Answer | None:
        return first_lease([a for loop in self.loops for a in loop.answers()])

    def answers(self) -> list[Answer]:
        return [a for loop in self.loops for a in loop.answers()]


@dataclass
class Moment:
    """Something that must come true soon after the fault ends, polled with the rest."""

    label: str
    condition: Callable[[], bool]
    within: float
    at: float | None = None  # monotonic; None: not (yet) seen


@dataclass
class AgentTimes:
    """When (monotonic) each agent was first seen alive and connected after the fault."""

    alive: dict[AgentKey, float] = field(default_factory=dict)
    connected: dict[AgentKey, float] = field(default_factory=dict)
    flapped: dict[AgentKey, float] = field(default_factory=dict)  # seen dead after alive
    last: dict[AgentKey, dict[str, Any]] = field(default_factory=dict)

    def see(self, agents: dict[AgentKey, dict[str, Any]], now: float) -> None:
        for key, agent in agents.items():
            self.last[key] = agent
            if agent["alive"]:
                self.alive.setdefault(key, now)
            elif key in self.alive:
                self.flapped.setdefault(key, now)
            if (agent.get("configurations") or {}).get("event_stream") == "connected":
                self.connected.setdefault(key, now)

    def settled(self) -> bool:
        return len(self.last) >= 4 and all(
            k in self.alive and k in self.connected for k in self.last)
