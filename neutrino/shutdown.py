"""How a foreground process that started others ends: the signals that ask it to stop, and
its cleanup steps, run once each whatever ends it.

The signal handlers only take note (they never raise), so a signal can arrive between
starting a child and registering its cleanup without losing the child; the process checks
`requested` between its steps and in its wait loop. Signals that come while it cleans up
(a second Ctrl-C, SIGHUP after SIGINT when the terminal closes) are noted and ignored: an
interrupted cleanup is exactly what leaves namespaces and dnsmasq behind."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from types import FrameType

from neutrino.console import Console

# Ctrl-C, kill, and the terminal going away (closed window, ssh connection lost).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequest:
    """The first stop signal received, once `install` has taken over STOP_SIGNALS."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._note)
        # Python ignores SIGPIPE already (a write to a closed pipe raises instead); say so
        # here too, so a caller that restored the default cannot get us killed mid-cleanup.
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def wait(self, seconds: float, *, until: Callable[[], bool] = lambda: False) -> bool:
        """Sleep until a stop is requested, `until()` holds or the time is up; True on a
        stop request. A signal cuts each short sleep, so a stop is seen within 0.1 s."""
        deadline = time.monotonic() + seconds
        while not self.requested and not until() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.requested

    def exit_as_signalled(self) -> None:
        """End the process by the signal it received, as the shell expects of a command
        stopped by Ctrl-C (a script calling us then stops too instead of going on)."""
        if self.signum is None:
            return
        signal.signal(self.signum, signal.SIG_DFL)
        os.kill(os.getpid(), self.signum)


class Teardown:
    """Cleanup steps, run newest first; each runs at most once, and a step that fails does
    not keep the older ones from running."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._steps: list[tuple[str, Callable[[], None]]] = []

    def add(self, what: str, step: Callable[[], None]) -> None:
        self._steps.append((what, step))

    @property
    def pending(self) -> bool:
        return bool(self._steps)

    def run(self) -> bool:
        """Run every step not run yet; True if all of them succeeded."""
        ok = True
        while self._steps:
            what, step = self._steps.pop()
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - the next steps must run regardless
                ok = False
                self._console.say(f"!!! {what} failed: {type(exc).__name__}: {exc}")
        return ok
