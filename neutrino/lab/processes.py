"""Lab processes: started inside a namespace, tracked by pid file, stopped by pid."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from neutrino.agent.pids import cmdline, is_zombie, read_pid

STOP_TIMEOUT = 15.0


def alive(pid: int, marker: str = "") -> bool:
    """True if pid runs and (pids get recycled) its command line contains marker."""
    cmd = " ".join(cmdline(pid))
    return bool(cmd) and marker in cmd and not is_zombie(pid)


def running(pid_file: Path, marker: str) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and alive(pid, marker) else None


def start(namespace: str, argv: list[str], pid_file: Path, log: Path) -> int:
    """Start argv inside the namespace (`ip netns exec` execs it, so the pid is argv's own),
    in its own session so it outlives the command that started it."""
    with log.open("ab") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", namespace, *argv],
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait for the pids to exit; the ones still running at the deadline."""
    deadline = time.monotonic() + timeout
    left = pids
    while True:
        # Our own children would stay zombies: reap them as we poll.
        for pid in left:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        left = [pid for pid in left if not is_zombie(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def terminate(pids: list[int], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL for whatever did not exit in time."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        pids = wait_gone(pids, timeout if sig == signal.SIGTERM else 5.0)
        if not pids:
            return


def kill_now(pids: list[int]) -> None:
    """SIGKILL: the host 'loses power'."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_gone(pids, 5.0)


def stop(pid_file: Path, marker: str, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the process of the pid file, if it is still the one we started; True if it ran."""
    pid = running(pid_file, marker)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    terminate([pid], timeout)
    return True


def namespace_pids(namespace: str) -> list[int]:
    """Every process whose network namespace is this one (dnsmasq included)."""
    proc = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True,
                          check=False, start_new_session=True)
    return [int(p) for p in proc.stdout.split() if p.isdigit() and p != str(os.getpid())]
