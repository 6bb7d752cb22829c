"""The all-in-one leaves nothing behind, however it ends.

Each case starts README command 1, `dev/aio` (a real server; as root the lab's HostA and
HostB with their four agents, then a network whose dnsmasq runs and a VM), on a free port
with its own state directory and lab prefix, ends it one way, and then looks for anything
of it: a process naming its state directory (server, agents, dnsmasq, the all-in-one
itself), a namespace or root link with its prefix, a listener on its port, the lab's state.
"""
from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pty
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from neutrino.agent import namespaces
from neutrino.lab import processes, runtime, wiring
from neutrino.lab.main import main as lab_cli
from tests.support import server
from tests.support.needs import require
from tests.support.waiting import SERVER_START_S, wait_until

DEV_AIO = Path(__file__).resolve().parents[2] / "dev" / "aio"
ADMIN_PASSWORD = "adminpassword"  # dev/aio's admin, as in the seed
LAB_NEEDS = ("/usr/sbin/udhcpc", "dnsmasq", "ip", "tee")
UP_TIMEOUT = SERVER_START_S + 30.0  # its set-up steps (migrate, users), then the server
END_TIMEOUT = 30.0


def require_lab() -> None:
    require("the all-in-one's lab tests", LAB_NEEDS)


def free_port() -> int:
    return server.free_port("0.0.0.0")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def processes_naming(text: str) -> list[str]:
    """'pid: command line' of every live process whose command line contains text."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not processes.alive(int(entry), text):
            continue
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            found.append(f"{entry}: {cmdline.decode(errors='replace')[:200]}")
    return found


def as_user(argv: list[str]) -> list[str]:
    """argv run as nobody when we are root, as it is otherwise."""
    if os.geteuid() != 0:
        return argv
    require("running dev/aio as a user (util-linux)", ("setpriv",), root=False)
    # The interpreter may live under a home nobody cannot search (pyenv in /root):
    # CAP_DAC_READ_SEARCH reaches it, and is nothing the all-in-one's root check (its
    # effective uid) or the lab's kernel calls could use.
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *argv]


@dataclass
class Aio:
    """One all-in-one's identity: where it keeps its files, its port and lab prefix."""

    state: Path
    port: int
    prefix: str
    output: list[bytes] = field(default_factory=list)
    output_ended: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lab_dir(self) -> Path:
        return self.state / "lab"

    def argv(self) -> list[str]:
        return [str(DEV_AIO), "--state-dir", str(self.state), "--port", str(self.port),
                "--lab-prefix", self.prefix, "--fresh"]

    @property
    def auth(self) -> list[str]:
        return ["--os-auth-url", f"{self.url}/v2.0/", "--os-username", "admin",
                "--os-password", ADMIN_PASSWORD, "--os-tenant-name", "admin"]

    def token(self) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        response = httpx.post(self.url + "/v3/auth/tokens", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return response.headers["x-subject-token"]

    def text(self) -> str:
        return b"".join(self.output).decode(errors="replace")

    def leftovers(self) -> list[str]:
        left = processes_naming(str(self.state))
        left += [f"namespace {n}" for n in namespaces.list_names(self.prefix)]
        left += [f"link {n}" for n in wiring.root_links(self.prefix)]
        if listening(self.port):
            left.append(f"a listener on port {self.port}")
        if (self.lab_dir / runtime.STATE_FILE).exists():
            left.append(f"the lab's {runtime.STATE_FILE}")
        left += [f"pid file {p}" for p in self.lab_dir.glob("*/*.pid")]
        return left


@contextlib.contextmanager
def new_aio() -> Iterator[Aio]:
    """A unique all-in-one; whatever it leaves (on a failed test) is removed afterwards."""
    prefix = f"a{secrets.token_hex(2)}-"  # 6 characters: <prefix>HostA-up fits IFNAMSIZ
    # Not pytest's tmp_path (mode 0700): dnsmasq drops root and must read its files.
    state = Path(tempfile.mkdtemp(prefix=f"{prefix}aio-"))
    state.chmod(0o755)
    aio = Aio(state=state, port=free_port(), prefix=prefix)
    try:
        yield aio
    except BaseException:
        print(f"--- all-in-one output ---\n{aio.text()}")
        for log in sorted(state.rglob("*.log")):
            print(f"--- {log} ---\n" + "\n".join(log.read_text().splitlines()[-20:]))
        raise
    finally:
        for line in processes_naming(str(state)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        if os.geteuid() == 0:
            runtime.down(aio.lab_dir, prefix=prefix)
        shutil.rmtree(state, ignore_errors=True)


def collect(aio: Aio, stream: io.BufferedReader | None) -> threading.Thread:
    """Read the all-in-one's output from its pipe until it ends."""
    assert stream is not None

    def read() -> None:
        while chunk := stream.read1(4096):
            aio.output.append(chunk)
        aio.output_ended.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def start_piped(aio: Aio, argv: list[str] | None = None, **popen: Any
                ) -> tuple[subprocess.Popen[bytes], threading.Thread]:
    proc = subprocess.Popen(argv or aio.argv(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    return proc, collect(aio, proc.stdout)  # type: ignore[arg-type]


class Terminal:
    """The window side of a pty: shows what the all-in-one writes until it is closed."""

    def __init__(self, aio: Aio) -> None:
        self.master, self.slave = pty.openpty()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(aio,), daemon=True)
        self._reader.start()

    def _read(self, aio: Aio) -> None:
        # Polls rather than blocks: a read in progress would keep the master open after
        # close(), and the pty would never hang up.
        while not self._closing.is_set():
            if select.select([self.master], [], [], 0.05)[0]:
                try:
                    aio.output.append(os.read(self.master, 4096))
                except OSError:  # EIO: nobody has the other side open any more
                    break
        aio.output_ended.set()
        os.close(self.master)

    def close(self) -> None:
        """Close the window: the last descriptor of the master goes, the pty hangs up."""
        self._closing.set()
        self._reader.join(5)


def _controlling_terminal() -> None:
    # In the child, after setsid(): the pty on stdin becomes its controlling terminal, as
    # for a command that a terminal window runs.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def wait_server(aio: Aio, proc: subprocess.Popen[bytes]) -> None:
    def answers() -> bool:
        if proc.poll() is not None:
            aio.output_ended.wait(5)  # its last words may still be in the pipe
            raise AssertionError(f"the all-in-one exited early ({proc.returncode}):\n"
                                 f"{aio.text()}")
        try:
            return httpx.get(aio.url + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(answers, UP_TIMEOUT, message="the server to answer")


def wait_lab_serving(aio: Aio, proc: subprocess.Popen[bytes]) -> None:
    """Wait for four live agents, then give the lab a network (its dnsmasq running) and a
    VM, so that every kind of thing the all-in-one makes exists when it is ended."""
    start = time.monotonic()
    wait_server(aio, proc)
    api = httpx.Client(base_url=aio.url + "/v2.0", headers={"X-Auth-Token": aio.token()},
                       timeout=10)

    def four_agents_alive() -> bool:
        agents = api.get("/agents").json()["agents"]
        return len([a for a in agents if a["alive"]]) == 4

    wait_until(four_agents_alive, UP_TIMEOUT, message="four live agents")
    up = time.monotonic() - start
    net = api.post("/networks", json={"network": {"name": "n1"}}).json()["network"]
    subnet = api.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                   "cidr": "10.9.0.0/24"}})
    assert subnet.status_code == 201, subnet.text
    api.close()
    plan = runtime.load(aio.lab_dir).plan

    def dnsmasq_runs() -> bool:
        return any(processes.alive(pid, "dnsmasq")
                   for host in plan.hosts
                   if namespaces.exists(host.dhcp_namespace(net["id"]))
                   for pid in processes.namespace_pids(host.dhcp_namespace(net["id"])))

    wait_until(dnsmasq_runs, UP_TIMEOUT, message="dnsmasq serving n1")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = lab_cli(["--lab-dir", str(aio.lab_dir), "vm", "boot", *aio.auth,
                        "--net", "n1", "--host", "HostA", "vm1"])
    assert code == 0, out.getvalue()
    print(f"four agents alive {up:.1f} s after start, dnsmasq and a VM "
          f"{time.monotonic() - start:.1f} s")
    # The test must be able to fail: everything it will look for exists now.
    now = aio.leftovers()
    for kind in ("neutrino.aio", "neutrino.server", "dhcp_main", "linuxbridge_main",
                 "dnsmasq", "namespace", "vm-vm1", "link", "listener", "lab.json"):
        assert any(kind in line for line in now), (kind, now)


def end_and_check(aio: Aio, end: Callable[[], None], gone: Callable[[], bool],
                  how: str) -> None:
    """End the all-in-one, wait for it to exit, and find nothing of it left."""
    start = time.monotonic()
    end()
    wait_until(gone, END_TIMEOUT, message="the all-in-one to exit")
    took = time.monotonic() - start
    left = aio.leftovers()
    assert not left, f"the all-in-one left {left} behind\n{aio.text()}"
    print(f"{how}: gone, and everything of it, {took:.1f} s after")


@pytest.mark.root
def test_ctrl_c_twice_removes_everything() -> None:
    """Ctrl-C: SIGINT to the foreground process group; the impatient press it again while
    it cleans up, which must not cut the cleanup short."""
    require_lab()
    with new_aio() as aio:
        proc, reader = start_piped(aio, process_group=0)
        wait_lab_serving(aio, proc)

        def ctrl_c_twice() -> None:
            os.killpg(proc.pid, signal.SIGINT)
            wait_until(lambda: b"stopping" in b"".join(aio.output), 10, message="the cleanup")
            os.killpg(proc.pid, signal.SIGINT)

        end_and_check(aio, ctrl_c_twice, lambda: proc.poll() is not None, "Ctrl-C twice")
        reader.join(5)
        # Ended by the signal, as a shell expects of a command stopped by Ctrl-C.
        assert proc.returncode == -signal.SIGINT, aio.text()
        assert "==> stopped; nothing left running" in aio.text()


@pytest.mark.root
def test_sigterm_removes_everything() -> None:
    require_lab()
    with new_aio() as aio:
        proc, reader = start_piped(aio, start_new_session=True)
        wait_lab_serving(aio, proc)
        end_and_check(aio, proc.terminate, lambda: proc.poll() is not None, "SIGTERM")
        assert proc.returncode == -signal.SIGTERM, aio.text()


@pytest.mark.root
def test_terminal_closed_removes_everything() -> None:
    """The terminal window closes: its pty hangs up, the kernel sends SIGHUP, and from then
    on every write to the terminal fails (EIO); the cleanup writes anyway."""
    require_lab()
    with new_aio() as aio:
        terminal = Terminal(aio)
        proc = subprocess.Popen(aio.argv(), stdin=terminal.slave, stdout=terminal.slave,
                                stderr=terminal.slave, start_new_session=True,
                                preexec_fn=_controlling_terminal)
        os.close(terminal.slave)
        try:
            wait_lab_serving(aio, proc)
            end_and_check(aio, terminal.close, lambda: proc.poll() is not None,
                          "terminal closed")
        finally:
            terminal.close()
        assert proc.returncode == -signal.SIGHUP, aio.text()


@pytest.mark.root
def test_ctrl_c_through_tee_removes_everything() -> None:
    """`dev/aio | tee log` and Ctrl-C: SIGINT reaches tee too, which dies first, so every
    write to stdout fails (EPIPE) from then on; stderr still reaches the terminal."""
    require_lab()
    with new_aio() as aio:
        tee_log = aio.state / "tee.log"
        terminal = aio.state / "terminal.txt"  # what the terminal shows: stderr
        with terminal.open("wb") as stderr:
            proc = subprocess.Popen(aio.argv(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=stderr, process_group=0)
        assert proc.stdout is not None
        # The shell's pipeline: one job, one process group.
        tee = subprocess.Popen(["tee", str(tee_log)], stdin=proc.stdout,
                               stdout=subprocess.DEVNULL, process_group=proc.pid)
        proc.stdout.close()
        try:
            wait_lab_serving(aio, proc)
            # Line by line through the pipe: the banner reached tee before the Ctrl-C.
            assert "Neutrino is running" in tee_log.read_text()
            end_and_check(aio, lambda: os.killpg(proc.pid, signal.SIGINT),
                          lambda: proc.poll() is not None and tee.poll() is not None,
                          "Ctrl-C through tee")
        finally:
            aio.output += [tee_log.read_bytes(), b"--- stderr ---\n", terminal.read_bytes()]
        assert tee.returncode == -signal.SIGINT
        assert proc.returncode == -signal.SIGINT, aio.text()
        assert "==> stopped; nothing left running" in terminal.read_text()


@pytest.mark.root
def test_ctrl_c_while_the_lab_comes_up_removes_everything() -> None:
    """Ctrl-C half-way through building the lab: what was made is removed all the same."""
    require_lab()
    with new_aio() as aio:
        proc, reader = start_piped(aio, process_group=0)
        switch = f"{aio.prefix}phys"
        wait_until(lambda: proc.poll() is None and wiring.link_exists(switch), UP_TIMEOUT,
                   message="the lab's switch")
        early = "Neutrino is running" not in aio.text()
        end_and_check(aio, lambda: os.killpg(proc.pid, signal.SIGINT),
                      lambda: proc.poll() is not None, "Ctrl-C while the lab comes up")
        reader.join(5)
        assert proc.returncode == -signal.SIGINT, aio.text()
        print(f"(the Ctrl-C came {'before' if early else 'after'} the banner)")


@pytest.mark.root
def test_server_exit_removes_everything() -> None:
    """The server dies (kill -9): the all-in-one says so, removes the lab and fails."""
    require_lab()
    with new_aio() as aio:
        proc, reader = start_piped(aio, process_group=0)
        wait_lab_serving(aio, proc)
        server = [int(line.split(":")[0]) for line in processes_naming(str(aio.state))
                  if "neutrino.server" in line]
        assert len(server) == 1, server
        end_and_check(aio, lambda: os.kill(server[0], signal.SIGKILL),
                      lambda: proc.poll() is not None, "server killed")
        reader.join(5)
        assert proc.returncode == 1, aio.text()
        assert "neutrino-server exited with -9" in aio.text()


def test_control_plane_alone_as_a_user_removes_everything() -> None:
    """README command 1 as a user who may not sudo: no lab, the server alone on loopback;
    Ctrl-C leaves nothing either."""
    with new_aio() as aio:
        if os.geteuid() == 0:
            shutil.chown(aio.state, "nobody")
        proc, reader = start_piped(aio, as_user(aio.argv()), process_group=0,
                                   env={**os.environ, "HOME": str(aio.state)})
        wait_server(aio, proc)
        wait_until(lambda: "Neutrino is running" in aio.text(), UP_TIMEOUT, message="the banner")
        assert "not root" in aio.text() and "with sudo" not in aio.text()
        assert processes_naming(str(aio.state)) and listening(aio.port)
        end_and_check(aio, lambda: os.killpg(proc.pid, signal.SIGINT),
                      lambda: proc.poll() is not None, "control plane alone, Ctrl-C")
        reader.join(5)
        assert proc.returncode == -signal.SIGINT, aio.text()


def test_dev_aio_asks_sudo_only_for_the_lab() -> None:
    """Not root, sudo present: dev/aio runs itself again under sudo with the same options
    (and NEUTRINO_AIO_STATE, which sudo would drop, as --state-dir); not for --help or
    --no-lab. (As root it runs at once: every other test here.)"""
    with new_aio() as aio:
        _check_sudo_reexec(aio.state)


def _check_sudo_reexec(tmp: Path) -> None:
    fake = tmp / "bin"
    fake.mkdir()
    calls = tmp / "sudo-calls"
    # Records its arguments and exits: nothing of the all-in-one runs.
    (fake / "sudo").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit 0\n')
    (fake / "sudo").chmod(0o755)
    fake.chmod(0o755)
    calls.touch()
    calls.chmod(0o666)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "NEUTRINO_AIO_STATE": "/tmp/my state",
           "HOME": str(tmp)}
    run = subprocess.run(as_user([str(DEV_AIO), "--port", "9797"]), env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert "running dev/aio with sudo" in run.stderr
    assert calls.read_text().splitlines() == [
        "-n true", f"-- {DEV_AIO} --state-dir /tmp/my state --port 9797"]
    calls.write_text("")
    helped = subprocess.run(as_user([str(DEV_AIO), "--help"]), env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0 and "--lab-prefix" in helped.stdout, helped.stderr
    assert calls.read_text() == ""
