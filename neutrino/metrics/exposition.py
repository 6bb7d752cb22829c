"""What a scrape of the server's metrics returns: the instruments of this process (or of
every API worker) and the fleet gauges, read from the database as the scrape asks."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from neutrino.metrics.fleet_gauges import fleet_families, lag_family
from neutrino.metrics.instruments import CURSOR
from neutrino.services.fleet import FleetSummary


class Exposition(Collector):
    """One scrape's metric families; `render()` gives them in the text format."""

    def __init__(self, instruments: Callable[[], Collector],
                 summary: Callable[[], FleetSummary]) -> None:
        self._instruments = instruments
        self._summary = summary

    def collect(self) -> Iterator[Metric]:
        cursors: dict[str, float] = {}
        for family in self._instruments().collect():
            if family.name == CURSOR:
                cursors = {s.labels["host"]: s.value for s in family.samples}
                continue
            yield family
        started = time.perf_counter()
        summary = self._summary()
        took = time.perf_counter() - started
        yield from fleet_families(summary)
        yield lag_family(summary, cursors)
        yield GaugeMetricFamily("neutrino_metrics_fleet_query_seconds", "How long this "
                                "scrape's fleet queries took.", value=took)

    def render(self) -> bytes:
        return generate_latest(self)
