"""The server's housekeeping loops (heartbeat flush, failover, event pruning): each runs
its work every period (failover: when its next verdict is due, at the latest every period),
survives any failure, and logs once per failure state.

While the database or the broker is away a loop fails on every pass; the operator needs
to read that once (WARNING when it starts failing, INFO when it works again), not five
times a second. A different kind of failure is a new state and is logged again; an
unexpected one is logged with its traceback, once per exception type.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from neutrino.errors import DatabaseUnavailable
from neutrino.transport.client import TransportError

LOG = logging.getLogger(__name__)

# Failures that are states of the world around the server, not bugs in it.
EXPECTED: tuple[type[Exception], ...] = (DatabaseUnavailable, TransportError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, DatabaseUnavailable):
        return f"database unreachable ({exc.reason})"
    return f"{type(exc).__name__}: {exc}"


class FailureLog:
    """What one loop has reported: logs the first failure of a kind and the recovery."""

    def __init__(self, name: str, period: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.name = name
        self.period = period
        self._clock = clock
        self.failing: str | None = None  # the kind of failure being reported, if any
        self._since = 0.0
        self._count = 0

    def failed(self, exc: Exception) -> None:
        kind = type(exc).__name__
        if kind == self.failing:
            self._count += 1
            LOG.debug("%s still failing (%d times): %s", self.name, self._count,
                      _describe(exc))
            return
        if self.failing is None:
            self._since = self._clock()
            self._count = 0
        self.failing = kind
        self._count += 1
        if isinstance(exc, EXPECTED):
            LOG.warning("%s failed: %s; retrying every %.1f s, logged again when it works",
                        self.name, _describe(exc), self.period)
        else:
            LOG.exception("%s failed unexpectedly; retrying every %.1f s, logged again when "
                          "it works", self.name, self.period)

    def worked(self) -> None:
        if self.failing is None:
            return
        LOG.info("%s works again after %.1f s (%d failed passes)", self.name,
                 self._clock() - self._since, self._count)
        self.failing = None


async def every(period: float, name: str, work: Callable[[], Any]) -> None:
    """Run `work` in a worker thread every `period` seconds until cancelled."""
    report = FailureLog(name, period)
    while True:
        try:
            await run_in_threadpool(work)
        except Exception as exc:  # noqa: BLE001 - a loop must survive; FailureLog logs it
            report.failed(exc)
        else:
            report.worked()
        await asyncio.sleep(period)


async def when_due(longest: float, name: str, work: Callable[[], float | None]) -> None:
    """Run `work` in a worker thread, then again after the seconds it returns (at most
    `longest`; None or a failure: `longest`) until cancelled."""
    report = FailureLog(name, longest)
    while True:
        wait = longest
        try:
            due = await run_in_threadpool(work)
        except Exception as exc:  # noqa: BLE001 - a loop must survive; FailureLog logs it
            report.failed(exc)
        else:
            report.worked()
            if due is not None:
                wait = min(longest, max(0.0, due))
        await asyncio.sleep(wait)
