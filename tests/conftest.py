"""Suite-wide hooks. Every test marked `root`, wherever it lives, goes through the one rule
of tests/support/needs.py before its fixtures run: skipped loudly without root and the
data-plane tools, failed under CI. Service-lock holds end with their test module; under
xdist (dev/test) the slow tiers are handed out first, and each worker's share of the run is
printed."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.needs import require
from tests.support.service_lock import LOCK

TESTS = Path(__file__).resolve().parent
# Workers take test scopes in collection order: slow tiers first, so that what is handed
# out last is short and the workers finish close together. Unknown folders go last.
TIER_ORDER = ("e2e", "integration", "contract", "unit")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None:
        require(f"{item.nodeid} (marked root)")


@pytest.fixture(scope="module", autouse=True)
def _service_lock_holds_end_with_the_module() -> Iterator[None]:
    # Module-scoped and autouse at the top: set up before, torn down after, every other
    # module fixture of the module (which may still use the broker on their way out).
    yield
    LOCK.release_module_holds()


def _tier_rank(path: Path) -> int:
    try:
        tier = path.resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return len(TIER_ORDER)
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker; plain runs keep pytest's order
        items.sort(key=lambda item: _tier_rank(item.path))  # stable: files keep their order


# What each xdist worker did, for the closing summary: the wall time of its session and
# the tests it ran. dev/test's figures (and CI budget decisions) come from these lines.
_started = 0.0
_ran = 0
_workers: dict[str, tuple[float, int]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    global _started
    _started = time.monotonic()


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    global _ran
    _ran += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["neutrino_worker"] = (time.monotonic() - _started, _ran)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    figures = getattr(node, "workeroutput", {}).get("neutrino_worker")
    if figures is not None:
        _workers[node.gateway.id] = tuple(figures)  # type: ignore[assignment]


# Files a test keeps for people to look at (the dashboard's screenshot): a test names them
# with record_property("artifact", path); the reports carry them from xdist workers here.
ARTIFACT = "artifact"


def _artifacts(terminalreporter: Any) -> list[str]:
    return [f"{report.nodeid}: {value}"
            for reports in terminalreporter.stats.values() for report in reports
            if getattr(report, "when", None) == "call"
            for name, value in getattr(report, "user_properties", ()) if name == ARTIFACT]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    artifacts = _artifacts(terminalreporter)
    if artifacts:
        terminalreporter.section("artifacts")
        for line in artifacts:
            terminalreporter.write_line(line)
    if not _workers:
        return
    terminalreporter.section("xdist workers")
    for worker, (seconds, ran) in sorted(_workers.items()):
        terminalreporter.write_line(f"{worker}: {ran} tests in {seconds:.0f} s")
    total = sum(seconds for seconds, _ in _workers.values())
    terminalreporter.write_line(f"sum of worker times: {total:.0f} s")
