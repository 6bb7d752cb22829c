"""The all-in-one leaves nothing behind, however it ends.

Each case starts `python -m neutrino.aio` as README command 1 does (real server, the lab's
HostA and HostB with their four agents, a network whose dnsmasq runs, a VM), on a free port
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
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from neutrino.lab import processes, runtime, wiring
from neutrino.lab.main import main as lab_cli

ADMIN_PASSWORD = "adminpassword"  # dev/aio's admin, as in the seed
LAB_NEEDS = ("/usr/sbin/udhcpc", "dnsmasq", "ip", "tee")
UP_TIMEOUT = 60.0
END_TIMEOUT = 30.0


def require_lab() -> None:
    missing = [] if os.geteuid() == 0 else ["root"]
    missing += [tool for tool in LAB_NEEDS if not shutil.which(tool)]
    if missing:
        reason = f"!!! NOT RUN: the all-in-one tests need {', '.join(missing)} !!!"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


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


@dataclass
class Aio:
    """One all-in-one's identity: where it keeps its files, its port and lab prefix."""

    state: Path
    port: int
    prefix: str
    output: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lab_dir(self) -> Path:
        return self.state / "lab"

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "neutrino.aio", "--state-dir", str(self.state),
                "--port", str(self.port), "--lab-prefix", self.prefix, "--fresh", *extra]

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

    def leftovers(self) -> list[str]:
        left = processes_naming(str(self.state))
        left += [f"namespace {n}" for n in wiring.namespaces(self.prefix)]
        left += [f"link {n}" for n in wiring.root_links(self.prefix)]
        if listening(self.port):
            left.append(f"a listener on port {self.port}")
        if (self.lab_dir / runtime.STATE_FILE).exists():
            left.append(f"the lab's {runtime.STATE_FILE}")
        left += [f"pid file {p}" for p in self.lab_dir.glob("*/*.pid")]
        return left

    def text(self) -> str:
        return b"".join(self.output).decode(errors="replace")


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
        runtime.down(aio.lab_dir, prefix=prefix)
        shutil.rmtree(state, ignore_errors=True)


def collect(aio: Aio, stream: io.BufferedReader) -> threading.Thread:
    """Read the all-in-one's output from its pipe until it ends."""
    def read() -> None:
        while chunk := stream.read1(4096):
            aio.output.append(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


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
        os.close(self.master)

    def close(self) -> None:
        """Close the window: the last descriptor of the master goes, the pty hangs up."""
        self._closing.set()
        self._reader.join(5)


def wait_lab_serving(aio: Aio, running: Callable[[], bool]) -> None:
    """Wait for four live agents, then give the lab a network (its dnsmasq running) and a
    VM, so that every kind of thing the all-in-one makes exists when it is ended."""
    def answers() -> bool:
        assert running(), f"the all-in-one exited early:\n{aio.text()}"
        try:
            return httpx.get(aio.url + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    start = time.monotonic()
    wait_until(answers, UP_TIMEOUT, "the server to answer")
    print(f"server answers after {time.monotonic() - start:.1f} s")
    api = httpx.Client(base_url=aio.url + "/v2.0", headers={"X-Auth-Token": aio.token()},
                       timeout=10)

    def four_agents_alive() -> bool:
        agents = api.get("/agents").json()["agents"]
        return len([a for a in agents if a["alive"]]) == 4

    wait_until(four_agents_alive, UP_TIMEOUT, "four live agents")
    print(f"four agents alive after {time.monotonic() - start:.1f} s")
    net = api.post("/networks", json={"network": {"name": "n1"}}).json()["network"]
    subnet = api.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                   "cidr": "10.9.0.0/24"}})
    assert subnet.status_code == 201, subnet.text
    plan = runtime.load(aio.lab_dir).plan

    def dnsmasq_runs() -> bool:
        return any(processes.alive(pid, "dnsmasq")
                   for host in plan.hosts
                   for pid in processes.namespace_pids(host.dhcp_namespace(net["id"]))
                   if wiring.namespace_exists(host.dhcp_namespace(net["id"])))

    wait_until(dnsmasq_runs, UP_TIMEOUT, "dnsmasq serving n1")
    print(f"dnsmasq serving after {time.monotonic() - start:.1f} s")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = lab_cli(["--lab-dir", str(aio.lab_dir), "vm", "boot", *aio.auth,
                        "--net", "n1", "--host", "HostA", "vm1"])
    assert code == 0, out.getvalue()
    print(f"VM booted after {time.monotonic() - start:.1f} s")
    # The test must be able to fail: everything it will look for exists now.
    running_now = aio.leftovers()
    for kind in ("neutrino.server", "dhcp_main", "linuxbridge_main", "dnsmasq",
                 "neutrino.aio", "namespace", "vm-vm1", "link", "listener", "lab.json"):
        assert any(kind in line for line in running_now), (kind, running_now)


def assert_nothing_left(aio: Aio) -> None:
    left = aio.leftovers()
    assert not left, f"the all-in-one left {left} behind\n{aio.text()}"


def end_timed(end: Callable[[], None], gone: Callable[[], bool], what: str) -> float:
    start = time.monotonic()
    end()
    wait_until(gone, END_TIMEOUT, what)
    return time.monotonic() - start


@pytest.mark.root
def test_ctrl_c_twice_removes_everything() -> None:
    """Ctrl-C: SIGINT to the foreground process group; the impatient press it again while
    it cleans up, which must not cut the cleanup short."""
    require_lab()
    with new_aio() as aio:
        proc = subprocess.Popen(aio.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, process_group=0)
        reader = collect(aio, proc.stdout)  # type: ignore[arg-type]
        wait_lab_serving(aio, lambda: proc.poll() is None)

        def ctrl_c_twice() -> None:
            os.killpg(proc.pid, signal.SIGINT)
            wait_until(lambda: b"stopping" in b"".join(aio.output), 10, "the cleanup to begin")
            os.killpg(proc.pid, signal.SIGINT)

        took = end_timed(ctrl_c_twice, lambda: proc.poll() is not None, "the aio to exit")
        reader.join(5)
        assert_nothing_left(aio)
        assert proc.returncode == -signal.SIGINT, aio.text()
        assert "nothing left running" in aio.text()
        print(f"Ctrl-C: stopped in {took:.1f} s")


@pytest.mark.root
def test_sigterm_removes_everything() -> None:
    require_lab()
    with new_aio() as aio:
        proc = subprocess.Popen(aio.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        reader = collect(aio, proc.stdout)  # type: ignore[arg-type]
        wait_lab_serving(aio, lambda: proc.poll() is None)
        took = end_timed(proc.terminate, lambda: proc.poll() is not None, "the aio to exit")
        reader.join(5)
        assert_nothing_left(aio)
        assert proc.returncode == -signal.SIGTERM, aio.text()
        print(f"SIGTERM: stopped in {took:.1f} s")


def _controlling_terminal() -> None:
    # In the child, after setsid(): the pty on stdin becomes its controlling terminal, as
    # for a command a terminal window runs.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.root
def test_terminal_closed_removes_everything() -> None:
    """The terminal window closes: its pty hangs up, the kernel sends SIGHUP, and from then
    on every write to the terminal fails (EIO) — the cleanup writes anyway."""
    require_lab()
    with new_aio() as aio:
        terminal = Terminal(aio)
        proc = subprocess.Popen(aio.argv(), stdin=terminal.slave, stdout=terminal.slave,
                                stderr=terminal.slave, start_new_session=True,
                                preexec_fn=_controlling_terminal)
        os.close(terminal.slave)
        try:
            wait_lab_serving(aio, lambda: proc.poll() is None)
            took = end_timed(terminal.close, lambda: proc.poll() is not None,
                             "the aio to exit")
        finally:
            terminal.close()
        assert_nothing_left(aio)
        assert proc.returncode == -signal.SIGHUP, aio.text()
        print(f"terminal closed: stopped in {took:.1f} s")


@pytest.mark.root
def test_ctrl_c_through_tee_removes_everything() -> None:
    """`dev/aio | tee log` and Ctrl-C: SIGINT reaches tee too, which dies first, so every
    write to stdout fails (EPIPE) from then on; stderr still reaches the terminal."""
    require_lab()
    with new_aio() as aio:
        tee_log = aio.state / "tee.log"
        terminal = aio.state / "terminal.txt"  # what the terminal shows of stderr
        with terminal.open("wb") as stderr:
            proc = subprocess.Popen(aio.argv(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=stderr, process_group=0)
        assert proc.stdout is not None
        # The shell's pipeline: one job, one process group.
        tee = subprocess.Popen(["tee", str(tee_log)], stdin=proc.stdout,
                               stdout=subprocess.DEVNULL, process_group=proc.pid)
        proc.stdout.close()
        aio.output.append(b"(stdout went to tee)\n")
        wait_lab_serving(aio, lambda: proc.poll() is None)
        # Line by line through the pipe: the banner reached tee before the Ctrl-C.
        assert "Neutrino is running" in tee_log.read_text()

        def both_gone() -> bool:
            return proc.poll() is not None and tee.poll() is not None

        took = end_timed(lambda: os.killpg(proc.pid, signal.SIGINT), both_gone,
                         "the aio and tee to exit")
        aio.output.append(terminal.read_bytes())
        assert_nothing_left(aio)
        assert tee.returncode == -signal.SIGINT
        assert proc.returncode == -signal.SIGINT, aio.text()
        assert "nothing left running" in terminal.read_text()
        print(f"Ctrl-C through tee: stopped in {took:.1f} s")


def test_control_plane_alone_as_a_user_removes_everything() -> None:
    """Not root: no lab, the server on loopback; Ctrl-C leaves nothing either."""
    with new_aio() as aio:
        argv = aio.argv()
        if os.geteuid() == 0:  # run it as nobody, as a user without sudo would
            shutil.chown(aio.state, "nobody")
            # The interpreter may live under a home nobody cannot search (pyenv in /root):
            # CAP_DAC_READ_SEARCH reaches it and is nothing the all-in-one's root check
            # (its effective uid) or the lab's kernel calls could use.
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *argv]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, process_group=0,
                                env={**os.environ, "HOME": str(aio.state)})
        reader = collect(aio, proc.stdout)  # type: ignore[arg-type]

        def serving() -> bool:
            assert proc.poll() is None, aio.text()
            return b"Neutrino is running" in b"".join(aio.output)

        wait_until(serving, UP_TIMEOUT, "the control plane")
        assert "not root" in aio.text()
        assert listening(aio.port) and processes_naming(str(aio.state))
        took = end_timed(lambda: os.killpg(proc.pid, signal.SIGINT),
                         lambda: proc.poll() is not None, "the aio to exit")
        reader.join(5)
        assert_nothing_left(aio)
        assert proc.returncode == -signal.SIGINT, aio.text()
        assert not wiring.namespaces(aio.prefix)
        print(f"control plane alone: stopped in {took:.1f} s")
