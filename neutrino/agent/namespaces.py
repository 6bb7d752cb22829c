"""Network namespaces by name (/run/netns), as `ip netns` manages them."""
from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

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


_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int, what: str) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns into {what}: {os.strerror(errno)}")


@contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the calling thread (and the processes it starts) inside the namespace.

    Network namespaces are per thread, so other threads are unaffected; this spares the
    `nsenter`/`ip -n` exec and the /sys remount per command that dominate a cold start.
    """
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path(name), os.O_RDONLY)
        try:
            _setns(target, name)
        finally:
            os.close(target)
        try:
            yield
        finally:
            # A pool thread left in the wrong namespace would misconfigure later work.
            _setns(original, "the agent's own namespace")
    finally:
        os.close(original)
