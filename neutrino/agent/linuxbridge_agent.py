"""The Linux bridge agent: brq bridges, their uplinks and taps, in step with the server."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from neutrino.agent.bridges import BridgeDevices
from neutrino.agent.device_reporter import DeviceReporter
from neutrino.agent.heartbeat import Heartbeat
from neutrino.agent.ip_command import CommandError, IpCommand
from neutrino.agent.l2_plan import L2Config, LinkPlan, plan_links, wired_ports
from neutrino.agent.metrics import L2AgentMetrics
from neutrino.agent.reachability import Reachability
from neutrino.agent.settings import L2AgentSettings
from neutrino.agent_protocol.messages import AgentState, L2HostState
from neutrino.neutron_names import AGENT_TYPE_LINUXBRIDGE, TOPIC_L2_AGENT
from neutrino.transport.client import AgentServerClient

LOG = logging.getLogger(__name__)

BINARY = "neutrino-linuxbridge-agent"
LONG_POLL_TIMEOUT = 10.0
# After a bug in a loop, how long before it carries on (not a tight loop of tracebacks).
AFTER_BUG_PAUSE = 1.0


def l2_config(settings: L2AgentSettings, vxlan_dev: str | None = None) -> L2Config:
    return L2Config(physical_interface_mappings=dict(settings.physical_interface_mappings),
                    enable_vxlan=settings.enable_vxlan, local_ip=settings.local_ip,
                    vxlan_group=settings.vxlan_group, vxlan_udp_port=settings.vxlan_udp_port,
                    vxlan_ttl=settings.vxlan_ttl, vxlan_dev=vxlan_dev)


class LinuxBridgeAgent:
    """Wire it with settings and a transport client, then `run(stop)` until stop is set."""

    def __init__(self, settings: L2AgentSettings, client: AgentServerClient,
                 ip: IpCommand | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 long_poll_timeout: float = LONG_POLL_TIMEOUT) -> None:
        self.settings = settings
        self.long_poll_timeout = long_poll_timeout
        self.client = client
        self.clock = clock
        self.devices = BridgeDevices(ip or IpCommand())
        self.config = l2_config(settings)
        self.state: L2HostState | None = None
        self.plan: LinkPlan | None = None
        self.metrics = L2AgentMetrics()
        self.metrics.serve(self._wired)
        self.reach = Reachability(settings.server.url, clock)
        self.events = self.reach.channel("event stream")
        self.l2_state = self.reach.channel("L2 state", decisive=False)
        # Which ports are wired here, for their status on the server (port_status.py).
        self.reporter = DeviceReporter(client, settings.host,
                                       self.reach.channel("device reports", decisive=False))
        self.heartbeat = Heartbeat(client, self.agent_state, settings.report_interval,
                                   self.reach)
        self.converged = threading.Event()  # set after the first successful convergence
        # Set by events, and when the server answers again after an outage: refresh now.
        self._changed = threading.Event()
        self.reach.on_recovery(self._changed.set)
        self._problems: set[str] = set()
        self.after = 0
        self._next_resync = 0.0

    def agent_state(self) -> AgentState:
        mappings = dict(self.settings.physical_interface_mappings)
        configurations: dict[str, object] = {
            **mappings,  # the seed's agent-show lists "physnet1": "eth0" at top level
            "interface_mappings": mappings,
            "devices": self.plan.devices if self.plan else 0,
            # "heartbeating but deaf" shows in agent-show.
            "event_stream": "connected" if self.events.ok else "disconnected",
        }
        if self.settings.enable_vxlan:
            configurations.update(tunneling_ip=self.settings.local_ip, tunnel_types=["vxlan"],
                                  l2_population=self.settings.l2_population)
        return AgentState(agent_type=AGENT_TYPE_LINUXBRIDGE, binary=BINARY,
                          host=self.settings.host, topic=TOPIC_L2_AGENT,
                          availability_zone=self.settings.availability_zone,
                          configurations=configurations)

    def refresh(self) -> bool:
        # On failure keep what is wired: VMs and DHCP keep talking while the server is away.
        with self.l2_state.attempt() as call:
            state = self.client.get_l2_state(self.settings.host)
            self.state = state
            self.reporter.state_refreshed(state)
        return call.ok

    def _wired(self) -> tuple[int, int]:
        plan = self.plan
        return (len(plan.bridges), plan.devices) if plan else (0, 0)

    def converge(self) -> None:
        if self.state is None:
            return
        with self.metrics.converge_seconds.time():
            self._converge()

    def _converge(self) -> None:
        assert self.state is not None
        local = self.devices.read()
        plan = plan_links(self.state, self.config, local)
        for problem in set(plan.problems) - self._problems:
            LOG.error("%s", problem)
        self._problems = set(plan.problems)
        try:
            self.devices.apply(plan, local, self.config)
        except CommandError as exc:
            LOG.error("could not wire bridges: %s", exc)
            self.metrics.failures.inc()
            return
        if self.plan is None or (self.plan.bridges, self.plan.delete_bridges) != (
                plan.bridges, plan.delete_bridges):
            LOG.info("%d bridges with %d devices; removed %s", len(plan.bridges),
                     plan.devices, ", ".join(plan.delete_bridges) or "none")
        self.plan = plan
        self.converged.set()
        if self.reach.reachable is not False:  # else sent once the server answers again
            self.reporter.report(self.state, wired_ports(self.state, plan))

    def _watch_events(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_events(stop)
            except Exception:  # the watcher must outlive any bug in handling a batch
                LOG.exception("event watcher failed; carrying on")
                stop.wait(AFTER_BUG_PAUSE)

    def poll_events(self, stop: threading.Event) -> None:
        """One long-poll of the event stream; on failure, the back-off before the next."""
        # Right after a failure, a quick poll: know at once that the stream is back.
        timeout = self.long_poll_timeout if self.events.ok else 0.0
        with self.events.attempt() as call:
            batch = self.client.wait_events(self.settings.host, self.after, timeout)
        if call.changed:
            self.heartbeat.report_soon()  # the server should see the stream's state now
        if not call.ok:
            self.events.wait(stop)
            return
        if batch.events or batch.reset:
            self._changed.set()
        self.after = max([self.after, batch.latest_revision,
                          *(e.revision for e in batch.events)])

    def run(self, stop: threading.Event) -> None:
        if self.settings.enable_vxlan and self.settings.local_ip and self.settings.vxlan_group:
            self.config = l2_config(self.settings,
                                    self.devices.interface_with(self.settings.local_ip))
        self.heartbeat.start()
        watcher = threading.Thread(target=self._watch_events, args=(stop,), daemon=True,
                                   name="events")
        watcher.start()
        self._next_resync = 0.0
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # the agent loop must survive; the next poll retries
                LOG.exception("L2 agent main loop failed; carrying on")
            self._changed.wait(self.settings.polling_interval)
        self.heartbeat.stop()
        # The watcher may be inside a long-poll; it is a daemon thread, so do not wait it out.
        watcher.join(timeout=1.0)
        LOG.info("Linux bridge agent on %s stopped; bridges left in place",
                 self.settings.host)

    def step(self) -> None:
        """One poll: refresh from the server when due, then wire what the state says."""
        due = self._changed.is_set() or self.clock() >= self._next_resync
        self._changed.clear()
        # While the server is known to be away, do not call it from here (a call may block
        # for the client's timeout); the recovery hook sets _changed when it answers.
        if due and self.reach.reachable is not False and self.refresh():
            self._next_resync = self.clock() + self.settings.resync_interval
        # Every poll, not only on events: the taps of VMs appear without any event.
        self.converge()
