"""A real `neutrino-server` process (its own config file, SQLite, admin and agent users),
for tests of what only the command does: its config options, TLS, the lab's agents."""
from __future__ import annotations

import contextlib
import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from neutrino.manage import main as manage
from tests.support.server import wait_until
from tests.support.waiting import SERVER_START_S

ADMIN_PASSWORD = "adminpassword"
AGENT_USER, AGENT_PASSWORD = "neutrino-agent", "agentpassword"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str          # as seen from this machine's loopback
    port: int
    conf: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def server_process(tmp: Path, extra_default: str = "", extra_sections: str = "", *,
                   bind_host: str = "127.0.0.1") -> Iterator[ServerProcess]:
    """Start neutrino-server with `extra_default` lines in [DEFAULT] and `extra_sections`
    appended; https:// when the config says use_ssl."""
    port = free_port()
    conf = tmp / "neutron.conf"
    conf.write_text(
        f"[DEFAULT]\nhost = controlnode\nbind_host = {bind_host}\nbind_port = {port}\n"
        f"state_path = {tmp}\nagent_down_time = 5\nallow_overlapping_ips = True\n"
        f"{extra_default}"
        f"[database]\nconnection = sqlite:///{tmp}/neutrino.db\n"
        "[ml2]\ntenant_network_types = vxlan\n[ml2_type_vxlan]\nvni_ranges = 1000:2999\n"
        f"{extra_sections}")
    # neutrino-manage in this process: the same code, without three interpreter starts.
    for args in (["db", "upgrade"], ["bootstrap", "--admin-password", ADMIN_PASSWORD],
                 ["user-create", AGENT_USER, "--password", AGENT_PASSWORD, "--project",
                  "service", "--role", "service"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = manage(["--config-file", str(conf), *args])
        assert code == 0, f"neutrino-manage {' '.join(args)}: {out.getvalue()}"
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file",
                                 str(conf)], stdout=out, stderr=subprocess.STDOUT)
    tls = "use_ssl = true" in (extra_default + extra_sections).lower()
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    running = ServerProcess(url, port, conf, log, proc)

    def answers() -> bool:
        assert proc.poll() is None, running.log_text()[-2000:]
        # uvicorn listens once the app has started. Only "is it up": what a client verifies
        # (and a server that wants client certificates) is for the tests to check.
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    try:
        wait_until(answers, SERVER_START_S, 0.1, "neutrino-server to answer")
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
