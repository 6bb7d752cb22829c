"""The cross-process service lock (tests/support/service_lock.py) between real processes:
users share it, an outage waits for them and keeps new users out, nobody deadlocks."""
from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.service_lock import ServiceLock
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
# Takes the lock as told by argv, says "held", keeps it until its stdin closes.
CHILD = """
import sys
from tests.support.service_lock import ServiceLock
lock = ServiceLock(sys.argv[1], sys.argv[2])
for step in sys.argv[3].split(","):
    getattr(lock, "acquire_" + step)()
print("held", flush=True)
sys.stdin.read()
"""
SETTLE = 0.5  # how long a blocked acquisition is given to (wrongly) get through


class Child:
    def __init__(self, files: tuple[str, str], steps: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, *files, steps], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.held = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() == "held":
            self.held.set()

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


class Attempt:
    """An acquisition on a thread of this process, so the test can see it blocked."""

    def __init__(self, acquire: Callable[[], None]) -> None:
        self.done = threading.Event()
        threading.Thread(target=lambda: (acquire(), self.done.set()), daemon=True).start()


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "services.lock"), str(tmp_path / "gate.lock")


@pytest.fixture
def children(files: tuple[str, str]) -> Iterator[Callable[[str], Child]]:
    started: list[Child] = []

    def start(steps: str) -> Child:
        child = Child(files, steps)
        started.append(child)
        return child

    yield start
    for child in started:
        child.proc.kill()
        child.proc.wait(10)


def test_users_share_and_an_outage_waits_for_them(files: tuple[str, str],
                                                    children: Callable[[str], Child]) -> None:
    user = children("shared")
    assert user.held.wait(10)
    other = children("shared")
    assert other.held.wait(10), "two users must hold the lock together"
    outage = ServiceLock(*files)
    attempt = Attempt(outage.acquire_exclusive)
    assert not attempt.done.wait(SETTLE), "the outage went ahead while the services were used"
    user.release()
    assert not attempt.done.wait(SETTLE)
    other.release()
    assert attempt.done.wait(10)


def test_a_waiting_outage_keeps_new_users_out_until_it_is_over(
        files: tuple[str, str], children: Callable[[str], Child]) -> None:
    user = children("shared")
    assert user.held.wait(10)
    outage = ServiceLock(*files)
    attempt = Attempt(outage.acquire_exclusive)
    assert not attempt.done.wait(SETTLE)
    late = children("shared")
    assert not late.held.wait(SETTLE), "a new user overtook the waiting outage"
    user.release()
    assert attempt.done.wait(10)
    assert not late.held.wait(SETTLE), "a user got in during the outage"
    outage.release_exclusive()
    assert late.held.wait(10)


def test_an_outage_inside_the_process_own_use_returns_to_shared(
        files: tuple[str, str], children: Callable[[str], Child]) -> None:
    lock = ServiceLock(*files)
    lock.acquire_shared()
    lock.acquire_shared()
    lock.acquire_exclusive()  # must not wait for this process's own shared holds
    lock.acquire_shared()  # covered by the exclusive hold
    lock.release_shared()
    user = children("shared")
    assert not user.held.wait(SETTLE)
    lock.release_exclusive()
    assert user.held.wait(10), "still shared after the outage: other users may come in"
    outage = children("exclusive")
    assert not outage.held.wait(SETTLE), "the process's shared holds no longer count"
    user.release()
    lock.release_shared()
    lock.release_shared()
    assert outage.held.wait(10)


def test_two_processes_using_the_services_both_get_their_outage(
        files: tuple[str, str], children: Callable[[str], Child]) -> None:
    lock = ServiceLock(*files)
    lock.acquire_shared()
    other = children("shared,exclusive")
    attempt = Attempt(lock.acquire_exclusive)
    # Both give up their shared hold first: one outage goes, then the other.
    wait_until(lambda: attempt.done.is_set() or other.held.is_set(), 10,
               message="one of the two outages to begin")
    if other.held.is_set():
        assert not attempt.done.wait(SETTLE), "two outages at once"
        other.release()
        assert attempt.done.wait(10)
        lock.release_exclusive()
        lock.release_shared()
    else:
        assert not other.held.wait(SETTLE), "two outages at once"
        lock.release_exclusive()
        assert not other.held.wait(SETTLE), "the other outage began while this one's test ran"
        lock.release_shared()
        assert other.held.wait(10)


def test_module_holds_end_together(files: tuple[str, str],
                                   children: Callable[[str], Child]) -> None:
    lock = ServiceLock(*files)
    lock.hold_for_module()
    lock.hold_for_module()
    outage = children("exclusive")
    assert not outage.held.wait(SETTLE)
    lock.release_module_holds()
    assert outage.held.wait(10)
    assert lock.shared_holds == 0 and lock.module_holds == 0
