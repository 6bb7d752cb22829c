"""Waiting for a condition with a deadline, the one way tests synchronise with threads."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# How long a neutrino-server process may take to answer after its start. Its Python start-up
# is most of it: seconds on a quiet machine, far longer on a loaded two-core one running
# several test workers (and other runs) at once. Only a deadline: no test measures it.
SERVER_START_S = 90.0


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02,
               message: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)
