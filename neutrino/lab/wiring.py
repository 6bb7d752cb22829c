"""The lab's kernel objects: the physnet1 switch, host namespaces, VM namespaces, and
finding everything with the lab's prefix again (after a crash too)."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from neutrino.agent import namespaces
from neutrino.agent.ip_command import CommandError, IpCommand, SubprocessRunner
from neutrino.lab.topology import HostPlan, LabError, LabPlan

SUBNET_LOCK = "/run/neutrino-lab-subnet.lock"


def ip(*args: str, check: bool = True) -> str:
    # Its own session, as every command the lab runs: a Ctrl-C or hang-up meant for the
    # lab's caller (dev/aio, cleaning up) must not kill the `ip` that deletes a namespace.
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False,
                          start_new_session=True)
    if check and proc.returncode != 0:
        raise LabError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()}")
    return proc.stdout


def _ip_command() -> IpCommand:
    """The agent's namespace helpers run `ip` through this: in a session of its own too."""
    return IpCommand(SubprocessRunner(own_session=True))


def create_namespace(name: str) -> None:
    """The agent's namespaces.create: a stale mount point left behind is replaced."""
    try:
        namespaces.create(_ip_command(), name)
    except CommandError as exc:
        raise LabError(f"Cannot create namespace {name}: {exc}") from None


def root_links(prefix: str) -> list[str]:
    links = json.loads(ip("-j", "link", "show") or "[]")
    return sorted(link["ifname"] for link in links if link["ifname"].startswith(prefix))


def link_exists(name: str, namespace: str | None = None) -> bool:
    where = ["-n", namespace] if namespace else []
    return subprocess.run(["ip", *where, "link", "show", "dev", name], capture_output=True,
                          check=False, start_new_session=True).returncode == 0


def link_master(name: str, namespace: str) -> str | None:
    out = ip("-n", namespace, "-j", "link", "show", "dev", name, check=False)
    return json.loads(out)[0].get("master") if out.strip() else None


def networks_in_use() -> list[str]:
    """Every IPv4 route destination of the root namespace (the default route excluded)."""
    routes = json.loads(ip("-j", "-4", "route", "show", "table", "all") or "[]")
    return [r["dst"] for r in routes
            if r.get("dst") not in (None, "default") and r.get("type") != "broadcast"
            and not r["dst"].startswith("127.")]


@contextmanager
def subnet_lock() -> Iterator[None]:
    """One lab at a time between reading the routes in use and adding its switch address
    (a cross-process flock; the lab needs root, and so does /run)."""
    fd = os.open(SUBNET_LOCK, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def make_switch(plan: LabPlan) -> None:
    """The physnet1 switch: a bridge in the root namespace holding the server's address."""
    if not link_exists(plan.switch):
        ip("link", "add", plan.switch, "type", "bridge")
    ip("addr", "replace", f"{plan.switch_ip}/{plan.prefixlen}", "dev", plan.switch)
    ip("link", "set", plan.switch, "up")


def make_host(plan: LabPlan, host: HostPlan) -> None:
    """A host: a namespace whose eth0 is cabled to the switch."""
    create_namespace(host.namespace)
    ip("-n", host.namespace, "link", "set", "lo", "up")
    if not link_exists("eth0", host.namespace):
        ip("link", "add", host.uplink, "type", "veth", "peer", "name", "eth0",
           "netns", host.namespace)
    ip("link", "set", host.uplink, "master", plan.switch, "up")
    ip("-n", host.namespace, "addr", "replace", f"{host.ip}/{plan.prefixlen}", "dev", "eth0")
    ip("-n", host.namespace, "link", "set", "eth0", "up")


def set_uplink(host: HostPlan, up: bool) -> None:
    """Cut or restore the host's cable to the switch."""
    ip("link", "set", host.uplink, "up" if up else "down")


def make_vm(host: HostPlan, vm_namespace: str, tap: str, mac: str) -> None:
    """A VM: a namespace whose eth0 carries the port's MAC; the other end, tap<port-id>, sits
    in the host's namespace for the host's L2 agent to plug into the network's bridge."""
    create_namespace(vm_namespace)
    try:
        ip("-n", host.namespace, "link", "add", tap, "type", "veth", "peer", "name", "eth0",
           "address", mac, "netns", vm_namespace)
        ip("-n", vm_namespace, "link", "set", "lo", "up")
        ip("-n", vm_namespace, "link", "set", "eth0", "up")
    except LabError:
        delete_namespace(vm_namespace)
        raise


def delete_namespace(name: str) -> bool:
    """Delete it if it is there (its links and their veth peers go with it); False when
    `ip` failed, which teardown reports through what it finds left afterwards."""
    try:
        namespaces.delete(_ip_command(), name)
    except CommandError:
        return False
    return True


def delete_links(names: list[str]) -> None:
    for name in names:
        ip("link", "delete", name, check=False)
