"""`neutrino-lab`: HostA and HostB as namespaces on one machine, VMs as namespaces, and the
failures of the seed's HA walk-through on demand."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prettytable import PrettyTable

from neutrino.cli.api import CliError
from neutrino.cli.auth import add_auth_options
from neutrino.lab import runtime, status, vms
from neutrino.lab.controller import connect
from neutrino.lab.topology import DEFAULT_PREFIX, DEFAULT_SUBNET, LabError

DEFAULT_LAB_DIR = ".state/lab"


def _auth_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    add_auth_options(parent)
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neutrino-lab",
        description="Emulate the seed's HostA and HostB on this machine: each host is a "
        "network namespace on a shared physnet1 switch, running its own Linux bridge agent "
        "and DHCP agent; VMs are namespaces running udhcpc. Needs root.",
        epilog="Typical use: `sudo ./dev/aio` runs the server and the lab; then "
        "`neutrino-lab vm boot --net net2 --host HostA myserver4`, "
        "`neutrino-lab vm dhcp myserver4`, `neutrino-lab agent stop HostA --with-dnsmasq`.")
    parser.add_argument("--lab-dir", type=Path,
                        default=Path(os.environ.get("NEUTRINO_LAB_DIR", DEFAULT_LAB_DIR)),
                        help="where the lab keeps its state, configs and logs "
                             "(default: env[NEUTRINO_LAB_DIR] or %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    auth = _auth_parent()

    p = sub.add_parser("up", help="build the hosts and start their agents",
                       description="Build the physnet1 switch and HostA/HostB, write their "
                       "agents' config files and start the agents. Leftovers of an earlier "
                       "lab with the same prefix are removed first.")
    p.add_argument("--server-url", default="http://127.0.0.1:9696",
                   help="the neutrino-server; hosts reach it on the switch address at the "
                        "same port, so it must listen there (bind_host = 0.0.0.0) "
                        "(default: %(default)s)")
    p.add_argument("--agent-user", default="neutrino-agent",
                   help="user with the service role in project service (default: %(default)s)")
    p.add_argument("--agent-password", default=os.environ.get("NEUTRINO_AGENT_PASSWORD"),
                   help="its password (default: env[NEUTRINO_AGENT_PASSWORD])")
    p.add_argument("--prefix", default=DEFAULT_PREFIX,
                   help="prefix of every namespace and link the lab makes (default: %(default)s)")
    p.add_argument("--subnet", default=DEFAULT_SUBNET,
                   help="addresses of the physnet1 switch and the hosts' eth0; auto (the "
                        "default) takes the first /26 of 192.0.2.0/24, 198.51.100.0/24, "
                        "203.0.113.0/24 that no route of this machine uses")
    p.add_argument("--transport-ca-file", default=None, metavar="PATH",
                   help="with an https:// --server-url: the CA the agents verify the "
                        "server's certificate with ([DEFAULT] transport_ca_file); the "
                        "certificate must name the switch address")

    p = sub.add_parser("down", help="remove everything the lab made",
                       description="Stop the agents and dnsmasq and delete every namespace "
                       "and link with the lab's prefix, also after a crash.")
    p.add_argument("--prefix", default=None,
                   help=f"prefix to clean up (default: the lab's, else {DEFAULT_PREFIX})")

    sub.add_parser("status", parents=[auth], help="hosts, processes and agent health",
                   description="Show the hosts, their processes (pid, alive) and, when "
                   "OS_* credentials are set, the agents as the server sees them.")

    vm = sub.add_parser("vm", help="VMs: boot, list, dhcp, delete").add_subparsers(
        dest="vm_command", required=True, metavar="VM_COMMAND")
    p = vm.add_parser("boot", parents=[auth], help="create a VM on a host and network",
                      description="Create a port (device_owner compute:nova, bound to the "
                      "host) and a VM namespace whose eth0 has the port's MAC.")
    p.add_argument("--net", required=True, help="network name or id")
    p.add_argument("--host", required=True, help="HostA or HostB")
    p.add_argument("name", help="VM name (also the port's name)")
    p.add_argument("--timeout", type=float, default=vms.ACTIVE_TIMEOUT,
                   help="seconds to wait for the port to turn ACTIVE (default: %(default)s)")
    vm.add_parser("list", parents=[auth], help="the VMs, like `nova list`")
    p = vm.add_parser("dhcp", help="run udhcpc in the VM and print the address it got",
                      description="Exits 1 when no DHCP server answered within the timeout.")
    p.add_argument("name")
    p.add_argument("--timeout", type=int, default=10, help="seconds (default: %(default)s)")
    p = vm.add_parser("delete", parents=[auth], help="delete the VM and its port")
    p.add_argument("name")

    agent = sub.add_parser("agent", help="stop or start a host's DHCP agent").add_subparsers(
        dest="agent_command", required=True, metavar="AGENT_COMMAND")
    p = agent.add_parser("stop", help="SIGTERM the host's DHCP agent",
                         description="Stop the host's neutrino-dhcp-agent. Its dnsmasq "
                         "processes keep serving unless --with-dnsmasq (the seed: 'Besides "
                         "stopping the neutron-dhcp-agent binary, you must stop the dnsmasq "
                         "processes').")
    p.add_argument("host")
    p.add_argument("--with-dnsmasq", action="store_true",
                   help="also stop its dnsmasq (the agent's own cleanup)")
    p = agent.add_parser("start", help="start the host's DHCP agent")
    p.add_argument("host")

    host = sub.add_parser("host", help="fail or restore a whole host").add_subparsers(
        dest="host_command", required=True, metavar="HOST_COMMAND")
    p = host.add_parser("down", help="kill every process of the host and cut its uplink")
    p.add_argument("host")
    p = host.add_parser("up", help="restore the uplink and start the host's agents")
    p.add_argument("host")

    sub.add_parser("demo", parents=[auth], help="the seed's HA walk-through, narrated",
                   description="Boot a VM, host its network on both DHCP agents, fail them "
                   "in turn and show what the VM gets each time; cleans up after itself.")
    return parser


def run(args: argparse.Namespace) -> int:
    lab_dir: Path = args.lab_dir.resolve()
    if args.command == "up":
        if not args.agent_password:
            raise LabError("Give the agent user's password: --agent-password or "
                           "env[NEUTRINO_AGENT_PASSWORD].")
        runtime.up(lab_dir, args.server_url, args.agent_user, args.agent_password,
                   prefix=args.prefix, subnet=args.subnet, ca_file=args.transport_ca_file)
        print(f"Lab up in {lab_dir}: HostA and HostB with their agents.")
    elif args.command == "down":
        runtime.require_root()
        removed = runtime.down(lab_dir, prefix=args.prefix)
        print("Removed: " + (", ".join(removed) if removed else "nothing was left."))
    elif args.command == "status":
        client = connect(args) if args.os_auth_url or args.os_url else None
        print(status.report(lab_dir, client))
    elif args.command == "vm":
        return run_vm(args, lab_dir)
    elif args.command == "agent":
        host = runtime.load(lab_dir).plan.host(args.host)
        runtime.require_root()
        if args.agent_command == "stop":
            stopped = runtime.stop_agent(lab_dir, host, runtime.DHCP)
            print(f"neutrino-dhcp-agent on {host.name}: "
                  f"{'stopped' if stopped else 'was not running'}.")
            if args.with_dnsmasq:
                runtime.cleanup_dhcp(lab_dir, host)
                print(f"dnsmasq on {host.name}: stopped (namespaces removed).")
        else:
            pid = runtime.start_agent(lab_dir, host, runtime.DHCP)
            print(f"neutrino-dhcp-agent on {host.name}: running, pid {pid}.")
    elif args.command == "host":
        if args.host_command == "down":
            killed = runtime.host_down(lab_dir, args.host)
            print(f"{args.host} is down: {len(killed)} processes killed, uplink cut.")
        else:
            runtime.host_up(lab_dir, args.host)
            print(f"{args.host} is up: uplink restored, agents started.")
    elif args.command == "demo":
        from neutrino.lab import demo
        return demo.run(connect(args), lab_dir)
    return 0


def run_vm(args: argparse.Namespace, lab_dir: Path) -> int:
    if args.vm_command == "boot":
        client = connect(args)
        vm = vms.boot(client, lab_dir, args.net, args.host, args.name)
        plan = runtime.load(lab_dir).plan
        plugged = vms.wait_plugged(vm, plan.host(vm.host).namespace)
        print(f"{vm.name} ({vm.id}) booted on {vm.host}: {vm.network}={vm.ip}, "
              f"MAC {vm.mac}, port {vm.port_id}" + (
                  "" if plugged else "; its tap is not plugged yet: is the host's Linux "
                  "bridge agent running?"))
        status = vms.wait_active(client, vm, args.timeout)
        if status != "ACTIVE":
            print(vms.not_active_message(vm, status, args.timeout), file=sys.stderr)
            return 1
        print(f"port {vm.port_id} is ACTIVE")
    elif args.vm_command == "list":
        table = PrettyTable(["ID", "Name", "Status", "Networks"])
        table.align = "l"
        for row in vms.list_rows(connect(args), lab_dir):
            table.add_row(list(row))
        print(table)
    elif args.vm_command == "dhcp":
        got = vms.dhcp(lab_dir, args.name, args.timeout)
        if got is None:
            print(f"{args.name} got no address within {args.timeout} s: no DHCP server "
                  "answered.")
            return 1
        wanted = vms.load_vm(lab_dir, args.name).ip
        print(f"{args.name} got {got}" + ("" if got == wanted else
                                          f" (its port has {wanted})"))
    elif args.vm_command == "delete":
        vm = vms.delete(connect(args), lab_dir, args.name)
        print(f"Deleted VM {vm.name} ({vm.id}) and its port {vm.port_id}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (LabError, CliError) as exc:
        print(f"neutrino-lab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
