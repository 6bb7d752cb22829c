"""The agents' Prometheus metrics, served on [agent] metrics_port when it is set.

Counters and histograms are counted where things happen (syncs, dnsmasq starts, restarts
and reloads, the time from a notification to the dnsmasq change it caused); what dnsmasq
is doing now (processes running, leases held per network) is read when a scrape asks.
Leases carry the network id as a label: one series per network this agent hosts, bounded
by its load. The agent is one process, so plain in-process values are right here.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from neutrino.agent import dnsmasq, releases
from neutrino.agent.dnsmasq_config import ConfPaths

LOG = logging.getLogger(__name__)

# Seconds: a network converges in milliseconds to seconds, a full sync of 1000 in minutes.
SYNC_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
NOTICE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# What NetworkDhcp tells of each change it makes to a network's dnsmasq.
START, ADOPT, RELOAD = "start", "adopt", "reload"
RESTART_DIED, RESTART_CHANGED, RESTART_RELEASE = "died", "changed", "release_failed"
RESTART_CAUSES = (RESTART_DIED, RESTART_CHANGED, RESTART_RELEASE)


@dataclass(frozen=True)
class Served:
    """What the agent serves right now, as a scrape reads it."""

    networks: dict[str, ConfPaths]  # network id -> its dnsmasq files, for applied networks
    event_revision: int  # the event-log revision the agent has read up to


class AgentMetrics:
    """The DHCP agent's instruments, and `collector()` for its metrics port."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sync_seconds = Histogram(
            "neutrino_dhcp_agent_sync_duration_seconds", "How long syncs took: the full "
            "sync at start (kind=full) and each network's convergence (kind=network).",
            ["kind"], buckets=SYNC_BUCKETS, registry=self.registry)
        self.starts = Counter("neutrino_dnsmasq_starts", "dnsmasq processes started (not "
                              "restarts; adopted ones left by an earlier run not counted).",
                              registry=self.registry)
        self.restarts = Counter(
            "neutrino_dnsmasq_restarts", "dnsmasq processes restarted, by cause: died (found "
            "not running), changed (subnets, DHCP port or MTU), release_failed.", ["cause"],
            registry=self.registry)
        for cause in RESTART_CAUSES:
            self.restarts.labels(cause)
        self.reloads = Counter("neutrino_dnsmasq_reloads", "dnsmasq configuration reloads "
                               "(SIGHUP after its hosts or options files changed).",
                               registry=self.registry)
        self.notice_seconds = Histogram(
            "neutrino_dhcp_agent_notification_to_reload_seconds", "From an event notice "
            "received to the dnsmasq start, restart or reload that applied it.",
            buckets=NOTICE_BUCKETS, registry=self.registry)
        self._served: Callable[[], Served] | None = None

    def dnsmasq_changed(self, what: str) -> None:
        """NetworkDhcp's report of one change: START, ADOPT, RELOAD or a restart cause."""
        if what == START:
            self.starts.inc()
        elif what == RELOAD:
            self.reloads.inc()
        elif what in RESTART_CAUSES:
            self.restarts.labels(what).inc()

    def serve(self, served: Callable[[], Served]) -> None:
        """Read what the agent serves from `served()` at every scrape."""
        self._served = served

    def collector(self) -> Collector:
        return _Scrape(self.registry, lambda: self._served() if self._served else None)


class _Scrape(Collector):
    def __init__(self, registry: CollectorRegistry, served: Callable[[], Served | None]
                 ) -> None:
        self._registry = registry
        self._served = served

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        served = self._served()
        if served is None:
            return
        yield from served_families(served, dnsmasq.running_pid, _read)


def served_families(served: Served, running: Callable[[ConfPaths], int | None],
                    read: Callable[[str], str]) -> Iterator[Metric]:
    """The scrape-time gauges of what the agent serves."""
    processes = 0
    leases = GaugeMetricFamily("neutrino_dhcp_leases", "IPv4 leases in each network's "
                               "dnsmasq leases file (seeded from the ports when dnsmasq "
                               "starts, then as dnsmasq grants and renews them).",
                               labels=["network_id"])
    for network_id, paths in sorted(served.networks.items()):
        if running(paths) is not None:
            processes += 1
        leases.add_metric([network_id], len(releases.parse_leases_file(read(paths.leases))))
    yield GaugeMetricFamily("neutrino_dhcp_agent_networks_served", "Networks this agent "
                            "serves.", value=len(served.networks))
    yield GaugeMetricFamily("neutrino_dnsmasq_processes", "dnsmasq processes running for "
                            "the networks this agent serves.", value=processes)
    yield leases
    yield GaugeMetricFamily("neutrino_dhcp_agent_event_revision", "The event-log revision "
                            "this agent has read up to.", value=served.event_revision)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class L2AgentMetrics:
    """The Linux bridge agent's: how its passes went, and what it has wired now."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.converge_seconds = Histogram(
            "neutrino_l2_agent_converge_duration_seconds", "How long each pass wiring "
            "bridges and devices took.", buckets=SYNC_BUCKETS, registry=self.registry)
        self.failures = Counter("neutrino_l2_agent_wiring_failures", "Passes that could not "
                                "wire the bridges (an ip or bridge command failed).",
                                registry=self.registry)
        self._wired: Callable[[], tuple[int, int]] = lambda: (0, 0)

    def serve(self, wired: Callable[[], tuple[int, int]]) -> None:
        """Read (bridges, devices) wired now from `wired()` at every scrape."""
        self._wired = wired

    def collector(self) -> Collector:
        return _L2Scrape(self.registry, lambda: self._wired())


class _L2Scrape(Collector):
    def __init__(self, registry: CollectorRegistry, wired: Callable[[], tuple[int, int]]
                 ) -> None:
        self._registry = registry
        self._wired = wired

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        bridges, devices = self._wired()
        yield GaugeMetricFamily("neutrino_l2_agent_bridges", "Network bridges this agent "
                                "has wired.", value=bridges)
        yield GaugeMetricFamily("neutrino_l2_agent_devices", "Devices (DHCP ports and VMs) "
                                "plugged into them.", value=devices)


def start_listener(host: str, port: int, metrics: Collector) -> None:
    """Serve `metrics` on host:port in a daemon thread (OSError if it cannot listen)."""
    start_http_server(port, host, registry=metrics)
    LOG.info("metrics on http://%s:%d/metrics", host, port)


def start_or_log(host: str, port: int, metrics: Collector) -> None:
    """start_listener unless port is 0; a port it cannot listen on is logged, not fatal:
    the agent's work matters more than its metrics."""
    if not port:
        return
    try:
        start_listener(host, port, metrics)
    except OSError as exc:
        LOG.error("cannot serve metrics on [agent] metrics_host %s metrics_port %d: %s; "
                  "running without a metrics port", host, port, exc.strerror)
