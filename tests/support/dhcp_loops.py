"""VMs asking for their address again and again while a test breaks things: one thread per
VM running udhcpc with a bounded timeout, recording every answer; and the pure checks over
those records (failed requests, one IP served to two MACs, time to the first lease)."""
from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from neutrino.lab.vms import UDHCPC, Vm

LOG = logging.getLogger(__name__)

# udhcpc calls this once the server ACKed; $serverid says which dnsmasq answered.
SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip $serverid"\nexit 0\n'
# One request: a DISCOVER a second for TRIES seconds. A dnsmasq that serves the VM answers
# the first one within milliseconds; three lost in a row is a failed request.
TRIES = 3
PAUSE = 0.3  # between requests, so that a handful of VMs leave the CPUs to the processes


@dataclass(frozen=True)
class Answer:
    """One request of one VM: when it ran (monotonic) and what it got (ip None: nothing)."""

    vm: str
    mac: str
    started: float
    finished: float
    ip: str | None
    server: str | None


def request_once(vm: Vm, script: Path, tries: int = TRIES) -> tuple[str | None, str | None]:
    """Run udhcpc in the VM until it is leased an address or `tries` DISCOVERs went
    unanswered; (address, answering server's identifier) or (None, None)."""
    proc = subprocess.run(["ip", "netns", "exec", vm.namespace, UDHCPC, "-i", "eth0", "-n",
                           "-q", "-f", "-t", str(tries), "-T", "1", "-s", str(script)],
                          capture_output=True, text=True, check=False, timeout=tries + 20)
    for line in proc.stdout.splitlines():
        if line.startswith("BOUND "):
            words = line.split()
            return words[1], (words[2] if len(words) > 2 else None)
    return None, None


def ask_once(vm: Vm, script: Path, tries: int = TRIES) -> Answer:
    """One request of the VM (`request_once`), recorded as the loops record theirs."""
    started = time.monotonic()
    ip, server = request_once(vm, script, tries)
    return Answer(vm.name, vm.mac, started, time.monotonic(), ip, server)


def write_script(directory: Path) -> Path:
    script = directory / "udhcpc-loop.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    return script


class DhcpLoop:
    """One VM asking in a loop on its own thread until stopped."""

    def __init__(self, vm: Vm, script: Path, tries: int = TRIES, pause: float = PAUSE,
                 until_leased: bool = False) -> None:
        self.vm = vm
        self.until_leased = until_leased  # a probe: stop at the first lease
        self.script = script
        self.tries = tries
        self.pause = pause
        self.port_gone_at: float | None = None  # set when the test deletes the VM's port
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dhcp-{vm.name}", daemon=True)

    def start(self) -> DhcpLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.tries + 25)

    def answers(self) -> list[Answer]:
        with self._lock:
            return list(self._answers)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ip, server = request_once(self.vm, self.script, self.tries)
            except (OSError, subprocess.SubprocessError) as exc:
                # The VM's namespace may be going away at teardown; the loop records the
                # request as failed and goes on until it is told to stop.
                LOG.warning("udhcpc in %s did not run: %s", self.vm.name, exc)
                ip, server = None, None
            answer = Answer(self.vm.name, self.vm.mac, started, time.monotonic(), ip, server)
            with self._lock:
                self._answers.append(answer)
            if ip is not None and self.until_leased:
                return
            self._stop.wait(self.pause)


# ---- checks over the records (pure) --------------------------------------------------------


def first_lease(answers: Iterable[Answer], after: float = 0.0) -> Answer | None:
    leased = [a for a in answers if a.ip is not None and a.started >= after]
    return min(leased, key=lambda a: a.finished) if leased else None


def failed_requests(answers: Iterable[Answer], since: float, until: float,
                    port_gone_at: float | None = None) -> list[Answer]:
    """Requests that got nothing although the VM had been served before (its first lease
    starts the count) and its port still existed when the request ended."""
    answers = sorted(answers, key=lambda a: a.started)
    first = first_lease(answers)
    if first is None:
        return [a for a in answers if since <= a.started <= until]
    return [a for a in answers
            if a.ip is None and a.started >= max(since, first.finished) and a.started <= until
            and (port_gone_at is None or a.finished < port_gone_at)]


def leased_after(answers: Iterable[Answer], since: float) -> list[Answer]:
    """Requests begun at or after `since` that got an address (of a VM that must get none)."""
    return [a for a in answers if a.started >= since and a.ip is not None]


def shared_addresses(answers: Iterable[Answer]) -> dict[str, set[str]]:
    """Every IP that was served to more than one MAC: ip -> those MACs."""
    owners: dict[str, set[str]] = {}
    for answer in answers:
        if answer.ip is not None:
            owners.setdefault(answer.ip, set()).add(answer.mac)
    return {ip: macs for ip, macs in owners.items() if len(macs) > 1}


def describe(answers: Iterable[Answer], origin: float) -> str:
    """One line per request, times relative to `origin`, for failure messages."""
    return "\n".join(
        f"  {a.vm} {a.mac} {a.started - origin:+7.2f}s..{a.finished - origin:+7.2f}s "
        f"{a.ip or 'NOTHING'}{' from ' + a.server if a.server else ''}" for a in answers)
