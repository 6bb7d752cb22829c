"""How long to wait before trying the control plane again: short, bounded and jittered."""
from __future__ import annotations

# Coming back at once matters more than sparing a server or broker that is away: the first
# retries follow quickly and none waits longer than a second, so whatever returns is used
# within a second whatever the length of the outage (issue 14).
BACKOFF_START = 0.15
BACKOFF_MAX = 1.0
# Each delay is shortened by up to this fraction, at random, so that the agents of many
# hosts that lost the server together do not retry in step.
JITTER = 0.2


def backoff_delay(failures: int, spread: float, *, start: float = BACKOFF_START,
                  maximum: float = BACKOFF_MAX, jitter: float = JITTER) -> float:
    """Seconds to wait after `failures` consecutive failures; `spread` is drawn from [0, 1)."""
    if failures <= 0:
        return 0.0
    base = min(maximum, start * 2.0 ** min(failures - 1, 30))
    return base * (1.0 - jitter * min(max(spread, 0.0), 1.0))
