"""Scraping Prometheus metrics in tests: the text format parsed by prometheus_client's own
parser into {(sample name, sorted labels): value}, so a test reads a series by name."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


def parse(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def family_names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def scrape(url: str, token: str | None = None) -> Samples:
    """GET `url` (…/metrics) and parse it; fails on anything but a 200 in the text format."""
    headers = {"X-Auth-Token": token} if token else {}
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and want <= set(lbls))
