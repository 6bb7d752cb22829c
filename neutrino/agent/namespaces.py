"""Network namespaces by name (/run/netns), as `ip netns` manages them."""
from __future__ import annotations

import os

from neutrino.agent.ip_command import IpCommand

NETNS_DIR = "/run/netns"


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def exists(name: str) -> bool:
    return os.path.exists(netns_path(name))


def list_names(prefix: str = "") -> list[str]:
    """Names of namespaces starting with prefix; names are global to the machine."""
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def add_line(name: str) -> str:
    """The batch line that creates a namespace (see IpCommand.batch)."""
    return f"netns add {name}"


def create(ip: IpCommand, name: str) -> None:
    if not exists(name):
        ip.ip("netns", "add", name)


def delete(ip: IpCommand, name: str) -> None:
    if exists(name):
        ip.ip("netns", "delete", name)


def exec_prefix(name: str) -> list[str]:
    """argv prefix running a program in the namespace. nsenter rather than `ip netns exec`:
    it skips the private mount namespace and /sys remount the program does not need."""
    return ["nsenter", f"--net={netns_path(name)}", "--"]
