"""Per-step wall times of a DHCP agent's network bring-up, by how many networks were up.

The cold-start benchmark wraps the agent's steps (the `ip` processes, the shared root batch
including its wait, dnsmasq's start, the server calls) with `StepTimer.wrap`; each sample is
filed under the number of networks already applied when it began, so a table shows which
step grows as networks accumulate. Bench-only: the agent itself is not changed.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sized
from typing import Any


class StepTimer:
    def __init__(self, progress: Sized, buckets: int = 5, total: int = 1) -> None:
        self.progress = progress  # len() = networks applied so far
        self.width = max(1, total // buckets)
        self._lock = threading.Lock()
        # bucket -> step -> [count, seconds]
        self._samples: dict[int, dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0.0]))

    def record(self, step: str, began_at: int, seconds: float) -> None:
        with self._lock:
            cell = self._samples[began_at // self.width][step]
            cell[0] += 1
            cell[1] += seconds

    def wrap(self, owner: Any, name: str, step: str | Callable[..., str]) -> None:
        """Replace owner.name by a timed call; `step` names it, or derives the name from the
        call's arguments (the `ip` runner: which kind of command)."""
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began_at = len(self.progress)
            began = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                label = step(*args, **kwargs) if callable(step) else step
                self.record(label, began_at, time.monotonic() - began)

        setattr(owner, name, timed)

    def table(self) -> str:
        """Mean ms per call of each step, one column per bucket of networks already up."""
        with self._lock:
            buckets = sorted(self._samples)
            steps = sorted({s for b in buckets for s in self._samples[b]})
            head = "step (mean ms / calls)".ljust(34) + "".join(
                f"{b * self.width:>6}-{(b + 1) * self.width - 1:<6}" for b in buckets)
            rows = [head]
            for step in steps:
                cells = []
                for b in buckets:
                    count, seconds = self._samples[b].get(step, [0, 0.0])
                    cells.append(f"{seconds / count * 1000:7.1f}/{int(count):<5}"
                                 if count else " " * 13)
                rows.append(step.ljust(34) + "".join(cells))
            return "\n".join(rows)


def ip_step(argv: list[str], stdin: str | None = None) -> str:
    """A label for one `ip`/`nsenter` process from its command line and input."""
    first = (stdin or "").split("\n", 1)[0]
    if "-batch" in argv:
        if first.startswith("netns add"):
            return "proc: ip -batch (root, netns add)"
        if first.startswith("netns delete"):
            return "proc: ip -batch netns delete"
        if first == "link set lo up":
            return "proc: ip -batch (in namespace)"
        return "proc: ip -batch (root)"
    return "proc: " + " ".join(argv[:3])
