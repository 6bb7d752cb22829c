"""Real `neutrino-server` processes, as an operator runs them (a config file, neutrino-manage,
the standard users of tests/support/server.USERS): one configured server (`server_process`:
its config options, TLS, the lab's agents), or replicas on one database that the fault tests
kill -9 and start again on their ports and the identity tests log in on and revoke through.
The in-process server is tests/support/server.py."""
from __future__ import annotations

import contextlib
import io
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from neutrino.manage import main as manage_main
from tests.support.admin_api import login
from tests.support.server import USERS, free_port
from tests.support.waiting import SERVER_START_S, wait_until


def server_conf(*, port: int, state_path: Path, db_url: str, agent_down_time: int = 75,
                dhcp_agents_per_network: int = 1, extra: str = "", sections: str = "",
                bind_host: str = "0.0.0.0", wait_for_database: bool = True) -> str:
    """A neutron.conf for one replica; replicas of one deployment differ only in the port.

    `extra`: lines for [DEFAULT]; `sections`: whole sections appended ([revoke], ...).
    `wait_for_database`: retry the connection at start for ever (1 s apart)."""
    # Connect retries at start: a replica started while its database is away waits.
    retries = "retry_interval = 1\nmax_retries = -1\n" if wait_for_database else ""
    # 0.0.0.0 by default: the lab's hosts reach the server on the switch address, not ours.
    return (f"[DEFAULT]\nhost = controlnode\nbind_host = {bind_host}\nbind_port = {port}\n"
            f"state_path = {state_path}\nagent_down_time = {agent_down_time}\n"
            f"dhcp_agents_per_network = {dhcp_agents_per_network}\n"
            f"allow_overlapping_ips = True\n{extra}"
            f"[database]\nconnection = {db_url}\n{retries}"
            "[ml2]\ntenant_network_types = vxlan\n[ml2_type_vxlan]\nvni_ranges = 1000:2999\n"
            f"{sections}")


def manage(conf: Path, *argv: str) -> str:
    """Run neutrino-manage with a replica's config file; its output, or fail showing it.

    In this process: the same code and the same file, without an interpreter start for each
    of the many commands an identity test runs."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = manage_main(["--config-file", str(conf), *argv])
    assert code == 0, f"neutrino-manage {' '.join(argv)} exited {code}: {out.getvalue()}"
    return out.getvalue()


def bootstrap_users(conf: Path) -> None:
    """Schema and the standard users of tests/support/server.USERS, as an operator makes
    them: neutrino-manage db upgrade, bootstrap, user-create."""
    manage(conf, "db", "upgrade")
    admin, admin_password, admin_project = USERS["admin"]
    manage(conf, "bootstrap", "--admin-user", admin, "--admin-password", admin_password,
           "--admin-project", admin_project)
    for who, role in (("member", "member"), ("other", "member"), ("agent", "service")):
        name, password, project = USERS[who]
        manage(conf, "user-create", name, "--password", password, "--project", project,
               "--role", role)


@dataclass
class ServerProcess:
    """One replica: its config file, its port, its log (appended across restarts)."""

    name: str
    conf: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)
    scheme: str = "http"  # https: the config says use_ssl

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

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
        if self.scheme == "https":
            # uvicorn listens once the app has started. Only "is it up": what a client
            # verifies (and a server that wants client certificates) is for the tests.
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False
        try:
            return httpx.get(self.url + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    def wait_answering(self, timeout: float = SERVER_START_S) -> float:
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

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@contextlib.contextmanager
def running(servers: Sequence[ServerProcess], timeout: float = SERVER_START_S) -> Iterator[None]:
    """Start the replicas side by side and wait until each answers; stop every one of them
    afterwards, also when a start or the caller's code failed."""
    try:
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_answering(timeout)
        except BaseException:
            for server in servers:
                print(f"--- tail of {server.log} ---\n{server.tail(40)}")
            raise
        yield
    finally:
        for server in servers:
            server.stop()


@dataclass
class ReplicaClient:
    """What API tests use of one replica process, as they use an in-process
    tests/support/server.RunningServer: its URL, logins, clients with the standard tokens."""

    process: ServerProcess
    tokens: dict[str, str] = field(default_factory=dict)  # USERS key -> token

    @classmethod
    def logged_in(cls, process: ServerProcess) -> ReplicaClient:
        """The replica with a token of each of USERS, got from the replica itself."""
        replica = cls(process)
        for who, (name, password, project) in USERS.items():
            replica.tokens[who] = replica.login(name, password, project)
        return replica

    @property
    def url(self) -> str:
        return self.process.url

    def login(self, user: str, password: str, project: str) -> str:
        return login(self.url, user, password, project)

    def client(self, who: str | None = "admin") -> httpx.Client:
        headers = {"X-Auth-Token": self.tokens[who]} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def __repr__(self) -> str:
        # Short in assertion messages: which replica, not its tokens.
        return f"<replica {self.process.name} at {self.url}>"


@contextlib.contextmanager
def server_process(tmp: Path, extra_default: str = "", extra_sections: str = "", *,
                   bind_host: str = "127.0.0.1") -> Iterator[ServerProcess]:
    """One neutrino-server on SQLite in `tmp`, with `extra_default` lines in [DEFAULT] and
    `extra_sections` appended; https:// when the config says use_ssl."""
    port = free_port(bind_host)
    conf = tmp / "neutron.conf"
    conf.write_text(server_conf(port=port, state_path=tmp, db_url=f"sqlite:///{tmp}/neutrino.db",
                                agent_down_time=5, extra=extra_default,
                                sections=extra_sections, bind_host=bind_host,
                                # As before the merge: with max_retries = -1, api_workers'
                                # children die at start (test_api_workers_serve_https_too).
                                wait_for_database=False))
    bootstrap_users(conf)
    tls = "use_ssl = true" in (extra_default + extra_sections).lower()
    server = ServerProcess("neutrino-server", conf, port, tmp / "server.log",
                           scheme="https" if tls else "http")
    with running([server]):
        yield server
