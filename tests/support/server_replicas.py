"""neutrino-server replicas as real processes that tests can kill -9 and start again on their
ports (the fault tests); tests/support/server_process.py runs one configured server."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.server import wait_until


def server_conf(*, port: int, state_path: Path, db_url: str, agent_down_time: int,
                dhcp_agents_per_network: int, extra: str = "") -> str:
    """A neutron.conf for one replica; replicas of one deployment differ only in the port."""
    # 0.0.0.0: the lab's hosts reach the server on the switch address, not our loopback.
    return (f"[DEFAULT]\nhost = controlnode\nbind_host = 0.0.0.0\nbind_port = {port}\n"
            f"state_path = {state_path}\nagent_down_time = {agent_down_time}\n"
            f"dhcp_agents_per_network = {dhcp_agents_per_network}\n"
            f"allow_overlapping_ips = True\n{extra}"
            # Connect retries at start: a replica started while its database is away waits.
            f"[database]\nconnection = {db_url}\nretry_interval = 1\nmax_retries = -1\n"
            "[ml2]\ntenant_network_types = vxlan\n[ml2_type_vxlan]\nvni_ranges = 1000:2999\n")


@dataclass
class ServerProcess:
    """One replica: its config file, its port, its log (appended across restarts)."""

    name: str
    conf: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"===== {self.name} started at {time.strftime('%H:%M:%S')} =====\n"
                      .encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "neutrino.server", "--config-file", str(self.conf)],
                stdout=out, stderr=subprocess.STDOUT)
        self.starts.append(time.monotonic())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def answers(self) -> bool:
        assert self.alive(), f"{self.name} exited:\n{self.tail(40)}"
        try:
            return httpx.get(self.url + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    def wait_answering(self, timeout: float = 30.0) -> float:
        """Block until the API answers; seconds since the last start."""
        wait_until(self.answers, timeout, 0.05, f"{self.name} to answer on {self.url}")
        return time.monotonic() - self.starts[-1]

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, nothing is flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"
