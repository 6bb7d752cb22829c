"""A readers-writer lock between test processes over the machine's MariaDB and RabbitMQ.

dev/test runs several pytest processes at once, and other worktrees' runs may share the
machine too. A test that uses MariaDB or RabbitMQ holds this lock shared; a test that stops
one of them (tests/support/outages.py, broker.restart_broker) holds it exclusive, so no
other process's test sees the outage. Tests never take it themselves: the helpers that hand
out those services do (databases.fresh_database for MariaDB, broker.require_rabbit and the
relays for RabbitMQ), so a new test gets it by using them.

The lock is two `flock` files in /tmp, the same path for every process and worktree:
- `services`: shared by users, exclusive by an outage;
- `gate`: an outage takes it first and keeps it while it waits, and a process takes it on
  the way to its first shared hold, so new users queue behind a waiting outage instead of
  starving it (flock alone lets shared holders overtake a waiting exclusive one forever).

Within one process the holds are counted (flock is per open file, and a process must never
wait for itself): nested shared holds cost nothing, a shared hold inside an exclusive one is
covered by it, and an exclusive hold first gives up the process's own shared one, which is
what makes two outages in two processes unable to deadlock.
"""
from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOCK_DIR = "/tmp"
SERVICES_FILE = os.path.join(LOCK_DIR, "neutrino-test-services.lock")
GATE_FILE = os.path.join(LOCK_DIR, "neutrino-test-services.gate")
# Waits longer than this are printed (pytest shows them with the test's output).
REPORT_WAIT_S = 1.0


def _open(path: str) -> int:
    # Read-only is enough for flock; 0o666 so a developer's unprivileged run can share the
    # file a root run created. Python's fds are not inherited: no server process keeps a lock.
    old = os.umask(0)
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    finally:
        os.umask(old)


class ServiceLock:
    """This process's holds on the lock; one instance per process (LOCK below)."""

    def __init__(self, services_file: str = SERVICES_FILE, gate_file: str = GATE_FILE) -> None:
        self._files = (services_file, gate_file)
        self._fds: tuple[int, int] | None = None
        self._mutex = threading.Lock()
        self.shared_holds = 0
        self.exclusive_holds = 0
        self.module_holds = 0

    def _flock(self, which: int, operation: int, what: str) -> None:
        if self._fds is None:
            self._fds = (_open(self._files[0]), _open(self._files[1]))
        began = time.monotonic()
        fcntl.flock(self._fds[which], operation)
        waited = time.monotonic() - began
        if waited > REPORT_WAIT_S:
            print(f"service lock: waited {waited:.1f} s for {what}", file=sys.stderr)

    def acquire_shared(self) -> None:
        with self._mutex:
            self.shared_holds += 1
            if self.shared_holds == 1 and self.exclusive_holds == 0:
                self._flock(1, fcntl.LOCK_SH, "the gate (an outage is waiting or running)")
                try:
                    self._flock(0, fcntl.LOCK_SH, "MariaDB/RabbitMQ (an outage is running)")
                finally:
                    self._flock(1, fcntl.LOCK_UN, "")

    def release_shared(self) -> None:
        with self._mutex:
            assert self.shared_holds > 0, "release_shared without acquire_shared"
            self.shared_holds -= 1
            if self.shared_holds == 0 and self.exclusive_holds == 0:
                self._flock(0, fcntl.LOCK_UN, "")

    def acquire_exclusive(self) -> None:
        with self._mutex:
            self.exclusive_holds += 1
            if self.exclusive_holds > 1:
                return
            if self.shared_holds:
                self._flock(0, fcntl.LOCK_UN, "")
            self._flock(1, fcntl.LOCK_EX, "the gate (another outage)")
            self._flock(0, fcntl.LOCK_EX, "other processes' tests to stop using the services")

    def release_exclusive(self) -> None:
        with self._mutex:
            assert self.exclusive_holds > 0, "release_exclusive without acquire_exclusive"
            self.exclusive_holds -= 1
            if self.exclusive_holds:
                return
            # Back to shared while still holding the gate: no outage can slip in between.
            self._flock(0, fcntl.LOCK_SH if self.shared_holds else fcntl.LOCK_UN, "")
            self._flock(1, fcntl.LOCK_UN, "")

    def hold_for_module(self) -> None:
        """A shared hold that lasts until release_module_holds (tests/conftest.py calls it
        when a test module ends): for helpers that return a URL rather than a context."""
        self.acquire_shared()
        with self._mutex:
            self.module_holds += 1

    def release_module_holds(self) -> None:
        with self._mutex:
            count, self.module_holds = self.module_holds, 0
        for _ in range(count):
            self.release_shared()


LOCK = ServiceLock()


@contextmanager
def services_shared() -> Iterator[None]:
    """MariaDB and RabbitMQ stay up (no other process stops them) for the body."""
    LOCK.acquire_shared()
    try:
        yield
    finally:
        LOCK.release_shared()


@contextmanager
def services_exclusive() -> Iterator[None]:
    """No other process's test uses MariaDB or RabbitMQ during the body (which may stop
    them, and must start them again before it ends)."""
    LOCK.acquire_exclusive()
    try:
        yield
    finally:
        LOCK.release_exclusive()


def services_for_this_module() -> None:
    """MariaDB and RabbitMQ stay up until the current test module ends."""
    LOCK.hold_for_module()
