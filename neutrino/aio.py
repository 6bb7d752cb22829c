"""All-in-one: the server on SQLite with the HTTP transport, admin bootstrapped, and (as root)
the lab's HostA and HostB with their agents. README command 1 runs this; Ctrl-C stops it."""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from neutrino.lab import runtime as lab
from neutrino.lab.topology import LabError

ADMIN_PASSWORD = "adminpassword"  # the seed's OS_PASSWORD; all-in-one is for trying things
AGENT_USER = "neutrino-agent"


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


def manage(conf: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "neutrino.manage", "--config-file", str(conf), *args],
                   check=True, stdout=subprocess.DEVNULL)


def check_port_free(host: str, port: int) -> None:
    # Another server already on the port would answer our readiness probe and the agents.
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            sys.exit(f"dev/aio: port {port} on {host} is taken ({exc.strerror}); stop what "
                     f"listens there or pass --port.")


def wait_for_server(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"neutrino-server exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit(f"neutrino-server did not answer on {url} within 30 s; see {log}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state = Path(args.state_dir).resolve()
    if args.fresh and (state / "neutrino.db").exists():
        (state / "neutrino.db").unlink()
    state.mkdir(parents=True, exist_ok=True)
    secret_file = state / "agent-password"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(16))
        secret_file.chmod(0o600)
    agent_password = secret_file.read_text().strip()
    with_lab = not args.no_lab and os.geteuid() == 0
    # The lab's hosts are other network namespaces: they reach the server on the physnet1
    # switch's address, not on our loopback, so with the lab it listens on every address.
    bind_host = args.bind_host or ("0.0.0.0" if with_lab else "127.0.0.1")
    check_port_free(bind_host, args.port)
    conf = write_config(state, args.port, args.agent_down_time, agent_password, bind_host)
    manage(conf, "db", "upgrade")
    manage(conf, "bootstrap", "--admin-password", ADMIN_PASSWORD)
    try:
        manage(conf, "user-create", AGENT_USER, "--password", agent_password,
               "--project", "service", "--role", "service")
    except subprocess.CalledProcessError:
        pass  # exists from an earlier run
    url = f"http://127.0.0.1:{args.port}"
    log = state / "server.log"
    print(f"==> starting neutrino-server on {url} (log: {log})")
    print("==> plain HTTP, no TLS: the all-in-one is for trying Neutrino on this machine "
          "(see docs/tls.md to serve HTTPS between hosts)")
    server = subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file",
                               str(conf)], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    lab_running = False
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        wait_for_server(url, server, log)
        if args.no_lab:
            print("==> lab not started (--no-lab)")
        elif os.geteuid() != 0:
            print("==> not root: the control plane runs, but the data plane (namespaces, "
                  "bridges, dnsmasq) needs root. Run `sudo dev/aio` for the lab.")
        else:
            print("==> bringing up the lab: HostA and HostB with their agents")
            try:
                lab.up(state / "lab", url, AGENT_USER, agent_password)
            except LabError as exc:
                sys.exit(f"dev/aio: the lab could not be built: {exc}")
            lab_running = True
        print_banner(url, lab_running, state / "lab")
        while not stopping and server.poll() is None:
            time.sleep(0.2)
        if server.poll() is not None and not stopping:
            print(f"neutrino-server exited with {server.returncode}; see {log}")
    finally:
        print("\n==> stopping")
        if lab_running:
            lab.down(state / "lab")
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        print("==> stopped; nothing left running")
    return 0


def print_banner(url: str, lab_running: bool, lab_dir: Path) -> None:
    # neutrino-lab finds this lab through NEUTRINO_LAB_DIR (its own default is .state/lab).
    lab_export = f" NEUTRINO_LAB_DIR={lab_dir}" if lab_running else ""
    print(f"""
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
        print("""  neutrino-lab vm boot --net net2 --host HostA myserver4
  neutrino-lab vm dhcp myserver4
  neutrino-lab agent stop HostA --with-dnsmasq
  neutrino-lab status""")
    print("\nCtrl-C stops everything and removes what the lab made.\n")


if __name__ == "__main__":
    sys.exit(main())
