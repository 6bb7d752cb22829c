"""Waiting for a condition with a deadline, the one way tests synchronise with threads."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# How long a neutrino-server process may take to answer after its start. Its Python start-up
# is most of it: seconds on a quiet machine, far longer on a loaded two-core one running
# several test workers (and other runs) at once. Only a deadline: no test measures it.
SERVER_START_S = 90.0


def _poll(condition: Callable[[], Any], deadline: float, interval: float
          ) -> tuple[Any, float] | None:
    """(first truthy value, monotonic moment it came) or None once `deadline` has passed."""
    while True:
        value = condition()
        if value:
            return value, time.monotonic()
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
               message: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    held = _poll(condition, time.monotonic() + timeout, interval)
    if held is None:
        raise AssertionError(f"timed out after {timeout} s waiting for {message}")
    return held[0]


def held_at(condition: Callable[[], Any], deadline: float, interval: float = 0.05
            ) -> float | None:
    """When `condition` first held (monotonic), or None at `deadline` (monotonic): for tests
    that measure how long something took and report a miss as a finding, not a failure."""
    held = _poll(condition, deadline, interval)
    return None if held is None else held[1]
