"""The server process's own instruments: binding changes, API latency, agents' cursors.

Counters and histograms live in the process that counts. With `api_workers` > 1 every
worker counts what it did (its requests, the failover moves its loop made), so the server
runs prometheus_client's multiprocess mode: the master gives every worker one directory
(PROMETHEUS_MULTIPROC_DIR, set before the workers start) where each keeps its values, and
a scrape served by any worker sums them all. Gauges about the fleet are not instruments:
they are read from the database at scrape time (fleet_gauges.py), the same in every worker.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from neutrino.services.binding_changes import REASONS

# prometheus_client's own switch (read when it is imported), and so ours.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Internal: each agent's last event-log cursor; exposed only as the lag derived from it.
CURSOR = "neutrino_agent_event_cursor"
# Agents a server remembers cursors for: a bound whatever hosts authenticated agents claim.
MAX_CURSOR_HOSTS = 10000
# Seconds; up to the long-poll's 30 s hold of GET .../events.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode when this process runs in it, else None."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def forget_earlier_values(path: str) -> None:
    """An earlier run's values in a multiprocess directory would be summed with ours."""
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.unlink(stale)


@contextlib.contextmanager
def worker_values_dir() -> Iterator[str]:
    """The directory where API workers keep their values, set in the environment the
    workers inherit (before they start): the operator's PROMETHEUS_MULTIPROC_DIR, emptied
    of an earlier run's files, else a fresh one, removed at exit."""
    given = multiprocess_dir()
    if given:
        forget_earlier_values(given)
        yield given
        return
    path = tempfile.mkdtemp(prefix="neutrino-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(path, ignore_errors=True)


class ServerMetrics:
    """The instruments of one server process; `source()` is what a scrape reads of them."""

    def __init__(self, multiprocess_path: str | None = None) -> None:
        self._path = multiprocess_path
        self.registry = CollectorRegistry()
        # In multiprocess mode values go to files, and a scrape reads the files.
        registry = None if multiprocess_path else self.registry
        self.binding_changes = Counter(
            "neutrino_dhcp_binding_changes", "Network to DHCP agent bindings made or moved, "
            "by reason (a failover move counts once).", ["reason"], registry=registry)
        for reason in REASONS:  # every series from the start, so increase() sees the first
            self.binding_changes.labels(reason)
        self.requests = Histogram(
            "neutrino_api_request_duration_seconds", "API requests by method, route template "
            "and status code, and how long they took.", ["method", "route", "status"],
            buckets=LATENCY_BUCKETS, registry=registry)
        self.cursors = Gauge(CURSOR, "Event-log revision each agent last read after.",
                             ["host"], multiprocess_mode="mostrecent", registry=registry)
        self._hosts: set[str] = set()
        self._lock = threading.Lock()

    def binding_changed(self, changes: Mapping[str, int]) -> None:
        """The counts by reason of one commit (services/binding_changes.py)."""
        for reason, count in changes.items():
            self.binding_changes.labels(reason).inc(count)

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def events_read(self, host: str, after: int) -> None:
        with self._lock:
            if host not in self._hosts:
                if len(self._hosts) >= MAX_CURSOR_HOSTS:
                    return
                self._hosts.add(host)
        self.cursors.labels(host).set(after)

    def source(self) -> Collector:
        """This process's instruments, or in multiprocess mode every worker's, summed."""
        if self._path:
            return MultiProcessCollector(None, self._path)
        return self.registry
