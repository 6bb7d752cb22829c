"""All-in-one: the server on SQLite with the HTTP transport, admin bootstrapped, and (as root)
the lab's HostA and HostB with their agents. README command 1 runs this.

However it ends (Ctrl-C, SIGTERM, its terminal closing, Ctrl-C while `| tee` reads its
output, or the server exiting) it removes everything it started: the lab's agents, their
dnsmasq, namespaces and links, then the server. Everything it starts runs in a session of
its own, so the terminal's signals reach only this process, which stops the rest in order."""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from neutrino.console import Console
from neutrino.lab import runtime as lab
from neutrino.lab.topology import DEFAULT_PREFIX, LabError
from neutrino.manage import main as manage_main
from neutrino.shutdown import StopRequest, Teardown

ADMIN_PASSWORD = "adminpassword"  # the seed's OS_PASSWORD; all-in-one is for trying things
AGENT_USER = "neutrino-agent"
SERVER_STOP_TIMEOUT = 10.0
# A loaded machine (a CI run beside other work) can take well over the usual two seconds
# to import and migrate; giving up early would leave the operator with nothing.
SERVER_START_TIMEOUT = 90.0


class AioError(Exception):
    """The all-in-one cannot start; one sentence for the person who ran it."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dev/aio", description="Run Neutrino all-in-one: server (SQLite, no broker) and, "
        "as root, the lab with HostA and HostB running their DHCP and Linux bridge agents.")
    parser.add_argument("--state-dir", default=os.environ.get("NEUTRINO_AIO_STATE",
                                                              ".state/aio"),
                        help="where config, database and logs go (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9696, help="API port (default: 9696)")
    parser.add_argument("--agent-down-time", type=int, default=5,
                        help="seconds without a heartbeat before an agent is dead "
                             "(the seed uses 5; default: %(default)s)")
    parser.add_argument("--no-lab", action="store_true", help="control plane only")
    parser.add_argument("--bind-host", default=None,
                        help="address the API listens on (default: 0.0.0.0 with the lab, so "
                             "its hosts reach it; 127.0.0.1 without)")
    parser.add_argument("--fresh", action="store_true",
                        help="start from an empty database")
    parser.add_argument("--lab-prefix", default=DEFAULT_PREFIX,
                        help="prefix of the lab's namespaces and links, for running two "
                             "all-in-ones side by side (default: %(default)s)")
    return parser.parse_args(argv)


def write_config(state: Path, port: int, down_time: int, agent_password: str,
                 bind_host: str = "127.0.0.1") -> Path:
    conf = state / "neutron.conf"
    conf.write_text(
        "[DEFAULT]\n"
        "host = controlnode\n"
        f"bind_host = {bind_host}\n"
        f"bind_port = {port}\n"
        f"state_path = {state}\n"
        f"agent_down_time = {down_time}\n"
        "allow_overlapping_ips = True\n"
        "# plain HTTP: the all-in-one serves this machine only; docs/tls.md for use_ssl\n"
        f"# agents use: transport_url = http://{AGENT_USER}:{agent_password}"
        f"@127.0.0.1:{port}/?project=service\n"
        "[database]\n"
        f"connection = sqlite:///{state}/neutrino.db\n"
        "[ml2]\n"
        "tenant_network_types = vxlan\n"
        "[ml2_type_vxlan]\n"
        "vni_ranges = 1000:2999\n"
        "[ml2_type_vlan]\n"
        "network_vlan_ranges = physnet1:1000:2999\n")
    return conf


def manage(conf: Path, *args: str) -> str:
    """Run a neutrino-manage command in this process (a Python start-up less each, and no
    child for a Ctrl-C to cut short mid-migration); its output, or AioError."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = manage_main(["--config-file", str(conf), *args])
    except Exception as exc:  # noqa: BLE001 - said as the all-in-one's error, not a traceback
        raise AioError(f"`neutrino-manage {' '.join(args[:2])}` failed: "
                       f"{type(exc).__name__}: {exc}\n{out.getvalue().strip()}") from exc
    if code != 0:
        raise AioError(f"`neutrino-manage {' '.join(args[:2])}` failed: "
                       f"{out.getvalue().strip()}")
    return out.getvalue()


def check_port_free(host: str, port: int) -> None:
    # Another server already on the port would answer our readiness probe and the agents.
    # SO_REUSEADDR, as the server itself binds: connections of a server that just stopped,
    # still in TIME_WAIT, do not take the port.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise AioError(f"port {port} on {host} is taken ({exc.strerror}); stop what "
                           "listens there or pass --port.") from None


def start_server(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    # Its own session, no terminal: Ctrl-C and a hang-up reach only us, and we stop it
    # after the agents that talk to it.
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file",
                                 str(conf)], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for_server(url: str, proc: subprocess.Popen[bytes], log: Path,
                    stop: StopRequest) -> None:
    """Return once the server answers (or a stop is requested); AioError if it cannot."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not stop.requested:
        if proc.poll() is not None:
            raise AioError(f"neutrino-server exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise AioError(f"neutrino-server did not answer on {url} within "
                               f"{SERVER_START_TIMEOUT:.0f} s; "
                               f"see {log}") from None
            stop.wait(0.1)


def main(argv: list[str] | None = None) -> int:
    """Run the all-in-one until a stop signal or the server's exit, then remove everything
    it started; a process stopped by a signal ends by that signal."""
    args = parse_args(argv)
    console = Console()
    stop = StopRequest()
    stop.install()
    teardown = Teardown(console)
    code = 1
    try:
        code = run(args, console, stop, teardown)
    except AioError as exc:
        console.say(f"dev/aio: {exc}")
    finally:
        if teardown.pending:
            why = f" ({stop.name})" if stop.requested else ""
            console.say(f"\n==> stopping{why}")
            if teardown.run():
                console.say("==> stopped; nothing left running")
            else:
                console.say("==> stopped, but some of the cleanup failed (above)")
                code = code or 1
    stop.exit_as_signalled()
    return code


def run(args: argparse.Namespace, console: Console, stop: StopRequest,
        teardown: Teardown) -> int:
    """Start everything, registering each part's cleanup as soon as it exists, and wait."""
    state, agent_password = prepare_state(Path(args.state_dir).resolve(), args.fresh)
    with_lab = not args.no_lab and os.geteuid() == 0
    # The lab's hosts are other network namespaces: they reach the server on the physnet1
    # switch's address, not on our loopback, so with the lab it listens on every address.
    bind_host = args.bind_host or ("0.0.0.0" if with_lab else "127.0.0.1")
    check_port_free(bind_host, args.port)
    conf = write_config(state, args.port, args.agent_down_time, agent_password, bind_host)
    manage(conf, "db", "upgrade")
    # The users first, then the server: with both writing one SQLite file at once, a loaded
    # machine could keep the server's start-up transactions long enough for these to fail.
    manage(conf, "bootstrap", "--admin-password", ADMIN_PASSWORD)
    try:
        manage(conf, "user-create", AGENT_USER, "--password", agent_password,
               "--project", "service", "--role", "service")
    except AioError as exc:
        if "already exists" not in str(exc):
            raise  # an earlier run created it; anything else is a real failure
    if stop.requested:
        return 0
    url = f"http://127.0.0.1:{args.port}"
    log = state / "server.log"
    console.say(f"==> starting neutrino-server on {url} (log: {log})")
    console.say("==> plain HTTP, no TLS: the all-in-one is for trying Neutrino on this "
                "machine (see docs/tls.md to serve HTTPS between hosts)")
    server = start_server(conf, log)
    teardown.add("stopping neutrino-server", lambda: stop_server(server))
    wait_for_server(url, server, log, stop)
    lab_dir = state / "lab"
    if stop.requested:
        return 0
    if args.no_lab:
        console.say("==> lab not started (--no-lab)")
    elif not with_lab:
        console.say("==> not root: the control plane runs, but the data plane (namespaces, "
                    "bridges, dnsmasq) needs root. Run dev/aio as root, or as a user who "
                    "may sudo, for the lab.")
    else:
        start_lab(console, teardown, lab_dir, args.lab_prefix, url, agent_password)
    if stop.requested:
        return 0
    print_banner(console, url, with_lab, lab_dir)
    while not stop.requested and server.poll() is None:
        stop.wait(3600, until=lambda: server.poll() is not None)
    if stop.requested:
        return 0
    console.say(f"neutrino-server exited with {server.returncode}; see {log}")
    return 1


def prepare_state(state: Path, fresh: bool) -> tuple[Path, str]:
    """The state directory, made if missing, and the agents' password kept in it."""
    if fresh and (state / "neutrino.db").exists():
        (state / "neutrino.db").unlink()
    state.mkdir(parents=True, exist_ok=True)
    secret_file = state / "agent-password"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(16))
        secret_file.chmod(0o600)
    return state, secret_file.read_text().strip()


def start_lab(console: Console, teardown: Teardown, lab_dir: Path, prefix: str, url: str,
              agent_password: str) -> None:
    console.say("==> bringing up the lab: HostA and HostB with their agents")

    def remove() -> None:
        removed = lab.down(lab_dir, prefix=prefix)
        console.say(f"==> lab removed ({len(removed)} agents, processes, namespaces and "
                    "links)")

    # Registered first: `down` works from the prefix alone, whatever `up` got to make.
    teardown.add("removing the lab", remove)
    try:
        lab.up(lab_dir, url, AGENT_USER, agent_password, prefix=prefix)
    except LabError as exc:
        raise AioError(f"the lab could not be built: {exc}") from None


def print_banner(console: Console, url: str, lab_running: bool, lab_dir: Path) -> None:
    # neutrino-lab finds this lab through NEUTRINO_LAB_DIR (its own default is .state/lab).
    lab_export = f" NEUTRINO_LAB_DIR={lab_dir}" if lab_running else ""
    console.say(f"""
Neutrino is running.  In another shell:

  source .venv/bin/activate
  export OS_USERNAME=admin OS_PASSWORD={ADMIN_PASSWORD} OS_TENANT_NAME=admin
  export OS_AUTH_URL={url}/v2.0/{lab_export}

  neutrino ext-list -c name -c alias
  neutrino agent-list
  neutrino net-create net2
  neutrino subnet-create net2 9.0.1.0/24 --name subnet2
  neutrino port-create net2
  neutrino dhcp-agent-list-hosting-net net2
  neutrino dhcp-agent-network-add <DHCP agent id on HostB> net2""")
    if lab_running:
        console.say("""  neutrino-lab vm boot --net net2 --host HostA myserver4
  neutrino-lab vm dhcp myserver4
  neutrino-lab agent stop HostA --with-dnsmasq
  neutrino-lab status""")
    console.say("\nCtrl-C (or closing this terminal, or SIGTERM) stops everything and removes "
                "what the lab made.\n")


if __name__ == "__main__":
    sys.exit(main())
