"""The DHCP agent: keeps one dnsmasq per hosted network in step with the server."""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from neutrino.agent import dnsmasq, namespaces
from neutrino.agent.applied_reporter import AppliedReporter
from neutrino.agent.changes import Applied, handover_reply_delay, is_stale
from neutrino.agent.dhcp_network import DhcpLayout, NetworkDhcp, unreadable_by_dnsmasq
from neutrino.agent.dnsmasq_config import ConfPaths, dhcp_subnets
from neutrino.agent.heartbeat import Heartbeat
from neutrino.agent.interface import BridgeInterfaceDriver
from neutrino.agent.ip_command import IpCommand
from neutrino.agent.metrics import AgentMetrics, Served
from neutrino.agent.reachability import Reachability
from neutrino.agent.settings import DHCP_DRIVER_REPORTED, DhcpAgentSettings
from neutrino.agent_protocol.messages import AgentState, EventBatch, NetworkInfo
from neutrino.neutron_names import AGENT_TYPE_DHCP, TOPIC_DHCP_AGENT
from neutrino.transport.client import AgentRefused, AgentServerClient, TransportError

LOG = logging.getLogger(__name__)

BINARY = "neutrino-dhcp-agent"
LONG_POLL_TIMEOUT = 10.0
LIVENESS_CHECK_INTERVAL = 5.0
# After a bug in the main loop, how long before it carries on (not a tight loop of tracebacks).
AFTER_BUG_PAUSE = 1.0
# A network changed again within this long of its last convergence waits out the rest, still
# queued: a burst of port changes (50 creates and 50 deletes a second) becomes one fetch, one
# hosts file and one SIGHUP per interval instead of one per port, at most this much later.
CONVERGE_HOLD_DOWN = 0.05
# A handover's last pass runs this long after its grace, so that it finds the grace over.
HANDOVER_SLACK = 0.05


class DhcpAgent:
    """Wire it with settings and a transport client, then `run(stop)` until stop is set."""

    def __init__(self, settings: DhcpAgentSettings, client: AgentServerClient,
                 ip: IpCommand | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 metrics: AgentMetrics | None = None) -> None:
        self.settings = settings
        self.client = client
        self.clock = clock
        self.metrics = metrics or AgentMetrics()
        self.metrics.serve(self.served)
        # network id -> when its first not yet applied notice arrived (notice-to-reload).
        self._noticed: dict[str, float] = {}
        self.ip = ip or IpCommand()
        layout = DhcpLayout(host=settings.host, dhcp_confs=settings.dhcp_confs,
                            namespace_prefix=settings.namespace_prefix,
                            lease_duration=settings.dhcp_lease_duration,
                            dns_servers=settings.dnsmasq_dns_servers,
                            dnsmasq_path=settings.dnsmasq_path,
                            dns_domain=settings.dns_domain,
                            dns_local_resolv=settings.dnsmasq_local_resolv,
                            dnsmasq=settings.dnsmasq_options())
        self.networks = NetworkDhcp(layout, client, BridgeInterfaceDriver(self.ip),
                                    on_dnsmasq=self._dnsmasq_changed)
        self.applied: dict[str, Applied] = {}
        self.reach = Reachability(settings.server.url, clock)
        self.events = self.reach.channel("event stream")
        self.resyncs = self.reach.channel("resync", decisive=False)
        self.heartbeat = Heartbeat(client, self.agent_state, settings.report_interval,
                                   self.reach)
        self.reporter = AppliedReporter(client, settings.host,
                                        self.reach.channel("confirmations", decisive=False))
        # Set when the server answers again after an outage: resync at once.
        self._resync_now = threading.Event()
        self.reach.on_recovery(self._resync_now.set)
        self._full_sync_pending = False  # the last full sync could not reach the server
        self._next_resync = 0.0
        self._next_check = 0.0
        self._pool = ThreadPoolExecutor(settings.num_sync_threads, thread_name_prefix="sync")
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._queued: set[str] = set()
        self._converged_at: dict[str, float] = {}  # network -> when its last pass began
        self._failed: set[str] = set()
        self._handovers: dict[str, threading.Timer] = {}  # network -> its last pass
        self.after = 0
        self.synced = threading.Event()  # set once the initial full sync is done

    # ---- what the server sees ---------------------------------------------------------

    def agent_state(self) -> AgentState:
        with self._guard:
            # A network being handed over is no longer this agent's.
            applied = [a for a in self.applied.values() if a.leaving_until is None]
        return AgentState(
            agent_type=AGENT_TYPE_DHCP, binary=BINARY, host=self.settings.host,
            topic=TOPIC_DHCP_AGENT, availability_zone=self.settings.availability_zone,
            configurations={
                "networks": len(applied),
                "subnets": sum(len(dhcp_subnets(a.network)) for a in applied),
                "ports": sum(len(a.network.ports) for a in applied),
                "dhcp_driver": DHCP_DRIVER_REPORTED,
                "use_namespaces": True,
                "dhcp_lease_time": self.settings.dhcp_lease_duration,
                # "heartbeating but deaf" shows in agent-show.
                "event_stream": "connected" if self.events.ok else "disconnected",
            })

    def served(self) -> Served:
        """What a metrics scrape reads: the applied networks' files and the event cursor."""
        with self._guard:
            networks = list(self.applied)
        return Served({n: self.networks.paths(n) for n in networks}, self.after)

    def _dnsmasq_changed(self, network_id: str, what: str) -> None:
        self.metrics.dnsmasq_changed(what)
        with self._guard:
            noticed = self._noticed.pop(network_id, None)
        if noticed is not None:
            self.metrics.notice_seconds.observe(self.clock() - noticed)

    # ---- converging networks ----------------------------------------------------------

    def _lock(self, network_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(network_id, threading.Lock())

    def schedule(self, network_id: str, refetch: bool = True) -> Future[None] | None:
        """Queue a convergence of the network; a network already queued is not queued twice."""
        with self._guard:
            if network_id in self._queued:
                return None
            self._queued.add(network_id)
        return self._pool.submit(self._converge, network_id, refetch)

    def _converge(self, network_id: str, refetch: bool) -> None:
        with self._lock(network_id):
            # Queued until here: while one pass runs, the changes that arrive make one more
            # pass, which waits for this lock (and out the hold-down), not one pass each.
            with self._guard:
                last = self._converged_at.get(network_id)
            wait_for = 0.0 if last is None else last + CONVERGE_HOLD_DOWN - time.monotonic()
            if wait_for > 0:
                time.sleep(min(wait_for, CONVERGE_HOLD_DOWN))
            with self._guard:
                self._queued.discard(network_id)
                self._converged_at[network_id] = time.monotonic()
            with self.metrics.sync_seconds.labels("network").time():
                self._converge_locked(network_id, refetch)

    def _converge_locked(self, network_id: str, refetch: bool) -> None:
        applied = self.applied.get(network_id)
        try:
            # A network being handed over is always asked for: only the server can say it is
            # hosted here again (a pass queued from the cache, by check_dnsmasq while the
            # handover restarted dnsmasq, must not bring it back).
            if refetch or applied is None or applied.leaving_until is not None:
                network: NetworkInfo | None = self.client.get_network_info(
                    self.settings.host, network_id)
            else:
                network = applied.network
            if applied is not None and is_stale(applied.network, network):
                LOG.debug("network %s: ignoring stale revision %s < %s", network_id,
                          network.revision_number if network else None,
                          applied.network.revision_number)
                return
            if network is None and applied is not None and self.settings.dhcp_handover_grace:
                kept = self._hand_over(network_id, applied)
                if kept is not None:
                    with self._guard:
                        self.applied[network_id] = kept
                    return  # still serving: nothing to confirm yet
            elif network is not None and applied is not None \
                    and applied.leaving_until is not None:
                LOG.info("network %s: hosted here again during its handover", network_id)
                self._end_handover(network_id)
                # Started afresh: its dnsmasq runs without the delay again.
                applied = None
            result = self.networks.converge(network_id, network, applied)
        except TransportError as exc:
            # Never tear anything down for lack of an answer; retry at the next pass.
            LOG.warning("network %s: server unreachable, will retry: %s", network_id, exc)
            self._failed.add(network_id)
            return
        except Exception:
            LOG.exception("network %s: convergence failed, will retry", network_id)
            self._failed.add(network_id)
            return
        self._failed.discard(network_id)
        with self._guard:
            # Applied without a dnsmasq change (or torn down): no reload to time.
            self._noticed.pop(network_id, None)
            if result is None:
                self.applied.pop(network_id, None)
                self._converged_at.pop(network_id, None)
            else:
                self.applied[network_id] = result
        self._confirm(network_id, network, applied, result)

    def _hand_over(self, network_id: str, applied: Applied) -> Applied | None:
        """The network left this agent: keep its dnsmasq answering for the grace, its offers
        delayed, so that the agent taking over answers every new client and no client is
        left waiting on an offer from a dnsmasq that is gone (changes.handover_reply_delay).
        Returns what stays applied meanwhile, or None once it is time to tear down."""
        if applied.leaving_until is not None:
            if self.clock() < applied.leaving_until:
                return applied
            self._end_handover(network_id)
            return None
        grace = self.settings.dhcp_handover_grace
        delay = handover_reply_delay(grace)
        try:
            if not self.networks.hand_over(network_id, applied, delay):
                return None  # no dnsmasq runs: nothing to hand over
        except Exception:
            LOG.exception("network %s: could not restart dnsmasq for its handover; tearing "
                          "it down at once", network_id)
            return None
        timer = threading.Timer(grace + HANDOVER_SLACK, self.schedule, (network_id,))
        timer.daemon = True
        with self._guard:
            old = self._handovers.pop(network_id, None)
            self._handovers[network_id] = timer
        if old is not None:
            old.cancel()
        timer.start()
        LOG.info("network %s: no longer hosted here; dnsmasq answers for %d s more with its "
                 "offers %d s late, then is stopped", network_id, grace, delay)
        return dataclasses.replace(applied, leaving_until=self.clock() + grace)

    def _end_handover(self, network_id: str) -> None:
        with self._guard:
            timer = self._handovers.pop(network_id, None)
        if timer is not None:
            timer.cancel()

    def _confirm(self, network_id: str, network: NetworkInfo | None, before: Applied | None,
                 result: Applied | None) -> None:
        """Tell the server what dnsmasq now reflects, so freed addresses can be reused."""
        if result is not None:
            self.reporter.note(network_id, result.network.revision_number, serving=True)
            return
        # Torn down: nothing of the network is served here, whatever its revision.
        seen = network or (before.network if before is not None else None)
        self.reporter.note(network_id, seen.revision_number if seen else 0, serving=False)

    def _leftovers(self) -> set[str]:
        """Networks with a namespace or files from an earlier run, hosted or not."""
        prefix = self.settings.namespace_prefix
        found = {n[len(prefix):] for n in namespaces.list_names(prefix)}
        try:
            found |= set(os.listdir(self.settings.dhcp_confs))
        except FileNotFoundError:
            pass
        return found

    def sync_all(self, wait_done: bool = False) -> bool:
        """Converge every hosted network and drop the others; False if the server is away."""
        with self.resyncs.attempt() as call:  # failures: logged once, retried on recovery
            refs = self.client.get_active_networks(self.settings.host)
        if not call.ok:
            self._full_sync_pending = True
            return False
        self._full_sync_pending = False
        hosted = {r.id for r in refs}
        with self._guard:
            known = set(self.applied)
        futures = [self.schedule(n) for n in hosted | known | self._leftovers()]
        if wait_done:
            wait([f for f in futures if f is not None])
        LOG.info("full sync: %d networks hosted on %s", len(hosted), self.settings.host)
        return True

    def periodic_resync(self) -> bool:
        """Refetch networks whose revision moved, that failed, or that appeared/disappeared."""
        with self.resyncs.attempt() as call:  # failures: logged once, retried on recovery
            refs = self.client.get_active_networks(self.settings.host)
        if not call.ok:
            return False
        hosted = {r.id: r.revision_number for r in refs}
        with self._guard:
            applied = {n: a.network.revision_number for n, a in self.applied.items()}
        todo = {n for n, rev in hosted.items() if applied.get(n) != rev}
        todo |= set(applied) - set(hosted)
        todo |= set(self._failed)
        for network_id in todo:
            self.schedule(network_id)
        return True

    def check_dnsmasq(self) -> None:
        """Restart any dnsmasq that died, from the cached state (works with no server)."""
        with self._guard:
            # A handed-over dnsmasq that died is not started again: its network is leaving.
            networks = [n for n, a in self.applied.items() if a.leaving_until is None]
        for network_id in networks:
            if dnsmasq.running_pid(self.networks.paths(network_id)) is None:
                self.schedule(network_id, refetch=False)

    def handle_events(self, batch: EventBatch) -> None:
        if batch.reset:
            LOG.info("event log no longer holds revision %s: full resync", self.after)
            self.sync_all()
        else:
            touched = set()
            for event in batch.events:
                network_id = event.network_id or (
                    event.resource_id if event.resource == "network" else None)
                if network_id is None:
                    LOG.debug("ignoring event %s without network", event.event)
                    continue
                touched.add(network_id)
            now = self.clock()
            with self._guard:
                for network_id in touched:
                    self._noticed.setdefault(network_id, now)
            for network_id in touched:
                self.schedule(network_id)
        newest = max([batch.latest_revision, *(e.revision for e in batch.events)])
        self.after = max(self.after, newest)

    # ---- main loop --------------------------------------------------------------------

    def start(self, stop: threading.Event | None = None) -> bool:
        """Heartbeat, learn the event log head, full sync (blocking until done); False if
        stopped before the server could be reached."""
        stop = stop or threading.Event()
        blocked = unreadable_by_dnsmasq(self.settings.dhcp_confs)
        if blocked:
            LOG.error("dhcp_confs %s is below %s, which other users cannot enter; dnsmasq runs "
                      "as nobody and will not read its hosts file: chmod o+x %s or choose "
                      "another state_path", self.settings.dhcp_confs, blocked, blocked)
        self.heartbeat.start()
        self.reporter.start()
        began = self.clock()
        while not stop.is_set():
            # AgentRefused (bad credentials or role) ends the agent: retrying will not help.
            with self.events.attempt(passthrough=(AgentRefused,)) as call:
                # after=-1 asks only for the log's head: resume from there after the sync.
                head = self.client.wait_events(self.settings.host, -1, 0)
            if call.ok:
                self.after = head.latest_revision
                break
            self.events.wait(stop)
        if stop.is_set():
            return False
        with self.metrics.sync_seconds.labels("full").time():
            self.sync_all(wait_done=True)
        self.synced.set()
        LOG.info("initial sync of %d networks took %.1f s", len(self.applied),
                 self.clock() - began)
        return True

    def run(self, stop: threading.Event) -> None:
        if not self.start(stop):
            self.shutdown()
            return
        self._next_resync = self.clock() + self.settings.resync_interval
        self._next_check = self.clock() + LIVENESS_CHECK_INTERVAL
        while not stop.is_set():
            try:
                self.step(stop)
            except Exception:  # the agent must outlive any bug in one pass of its loop
                LOG.exception("DHCP agent main loop failed; carrying on")
                stop.wait(AFTER_BUG_PAUSE)
        self.shutdown()

    def step(self, stop: threading.Event) -> None:
        """One pass of the main loop: checks and resyncs that are due, then one long-poll."""
        now = self.clock()
        if now >= self._next_check:
            self.check_dnsmasq()
            self._next_check = now + LIVENESS_CHECK_INTERVAL
        if self._resync_now.is_set() or now >= self._next_resync:
            # After an outage this runs at once: networks that failed meanwhile are retried
            # and changes are refetched without waiting for resync_interval.
            self._resync_now.clear()
            if self._full_sync_pending:
                self.sync_all()
            else:
                self.periodic_resync()
            self._next_resync = now + self.settings.resync_interval
        timeout = max(0.0, min(LONG_POLL_TIMEOUT, self._next_resync - self.clock()))
        self.poll_events(stop, timeout)

    def poll_events(self, stop: threading.Event, timeout: float) -> None:
        """One long-poll of the event stream; on failure, the back-off before the next."""
        if self.events.ok is not True:
            timeout = 0.0  # right after a failure: know at once that the stream is back
        with self.events.attempt() as call:
            batch = self.client.wait_events(self.settings.host, self.after, timeout)
        if call.changed:
            self.heartbeat.report_soon()  # the server should see the stream's state now
        if not call.ok:
            self.events.wait(stop)
            return
        self.handle_events(batch)

    def shutdown(self) -> None:
        """Stop threads; dnsmasq keeps serving unless kill_dnsmasq_on_exit."""
        self.heartbeat.stop()
        with self._guard:
            timers = list(self._handovers.values())
            self._handovers.clear()
        for timer in timers:
            timer.cancel()  # a handed-over network left behind is torn down at the next start
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.networks.close()
        self.reporter.stop()
        if self.settings.kill_dnsmasq_on_exit:
            for network_id in list(self.applied):
                dnsmasq.stop(ConfPaths.for_network(self.settings.dhcp_confs, network_id))
        LOG.info("DHCP agent on %s stopped; %d dnsmasq instances %s", self.settings.host,
                 len(self.applied), "stopped" if self.settings.kill_dnsmasq_on_exit
                 else "left serving")
