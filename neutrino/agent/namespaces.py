"""Network namespaces by name (/run/netns), as `ip netns` manages them."""
from __future__ import annotations

import ctypes
import functools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from neutrino.agent.ip_command import CommandError, IpCommand

NETNS_DIR = "/run/netns"


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def exists(name: str) -> bool:
    """Whether the name refers to a usable namespace. A bare file under /run/netns is not
    one: its bind mount may live in a mount namespace we cannot see (see global_mounts)."""
    try:
        return os.stat(netns_path(name)).st_dev == os.stat("/proc/self/ns/net").st_dev
    except FileNotFoundError:
        return False


def list_names(prefix: str = "") -> list[str]:
    """Names of namespaces starting with prefix; names are global to the machine."""
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


@functools.cache
def outer_mount_namespace() -> int | None:
    """An open fd on the machine's mount namespace when ours is a private one, else None.

    An agent started with `ip netns exec <host>` (the lab's emulated hosts) runs in a mount
    namespace that is a slave of the machine's: a namespace it mounted under /run/netns would
    be seen by nobody else, nor by the agent itself after a restart. Mounted from the
    machine's mount namespace instead, it propagates to everyone, this agent included.
    kthreadd (pid 2) always sits in the initial mount namespace and, unlike pid 1 on some
    machines, can be looked at; the parent is the next guess. The fd keeps the namespace
    reachable for the agent's whole life.
    """
    try:
        ours = os.stat("/proc/self/ns/mnt").st_ino
    except FileNotFoundError:
        return None
    for pid in (2, os.getppid(), 1):
        path = f"/proc/{pid}/ns/mnt"
        try:
            if os.stat(path).st_ino == ours:
                return None
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (PermissionError, FileNotFoundError):
            continue
    return None


def _run_mounting(ip: IpCommand, args: list[str], stdin: str | None = None) -> None:
    fd = outer_mount_namespace()
    if fd is None:
        ip.runner.run([ip.ip_path, *args], stdin)
        return
    argv = ["nsenter", f"--mount=/proc/self/fd/{fd}", "--", ip.ip_path, *args]
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False,
                          pass_fds=(fd,))
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr, stdin)


def create(ip: IpCommand, name: str) -> None:
    if exists(name):
        return
    if os.path.exists(netns_path(name)):
        delete_many(ip, [name])  # a stale mount point left by an agent in another mount ns
    if outer_mount_namespace() is None and _shared_mount_point():
        _mount_new(name)
    else:
        # iproute2 makes /run/netns a shared mount point the first time; and from a private
        # mount namespace only the machine's mount namespace gives a mount everyone sees.
        _run_mounting(ip, ["netns", "add", name])


_shared: list[bool] = []  # once seen shared, /run/netns stays so for the process's life


def _shared_mount_point() -> bool:
    """Whether /run/netns is a shared mount point of our mount namespace (iproute2 makes it
    one, bound onto itself, which os.path.ismount cannot tell). Read once it is."""
    if _shared:
        return True
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split(" - ", 1)[0].split()
            if fields[4] == NETNS_DIR and any(o.startswith("shared:") for o in fields[6:]):
                _shared.append(True)
                return True
    return False


_CLONE_NEWNET = 0x40000000
_MS_BIND = 0x1000
_libc = ctypes.CDLL(None, use_errno=True)


def _mount_new(name: str) -> None:
    """A new network namespace bind-mounted at /run/netns/<name>, as `ip netns add` does but
    without its first step: iproute2 re-applies `mount --make-rshared /run/netns` on every
    add, which walks every namespace mount already there (the kernel's propagation
    bookkeeping): with thousands of namespaces that walk dominated a cold start's CPU.
    /run/netns is already a shared mount point (made by iproute2), so the new mount still
    propagates to other mount namespaces. The calling thread alone enters the new namespace
    (unshare of CLONE_NEWNET is per thread) and comes back before returning."""
    path = netns_path(name)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    try:
        original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            if _libc.unshare(_CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"unshare of a network namespace: {os.strerror(errno)}")
            try:
                if _libc.mount(b"/proc/thread-self/ns/net", path.encode(), None, _MS_BIND,
                               None) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"bind mount of {path}: {os.strerror(errno)}")
            finally:
                _setns(original, "the agent's own namespace")
        finally:
            os.close(original)
    except OSError:
        os.unlink(path)
        raise


def delete(ip: IpCommand, name: str) -> None:
    if os.path.exists(netns_path(name)):
        delete_many(ip, [name])


def delete_many(ip: IpCommand, names: list[str]) -> None:
    """Delete namespaces in one `ip -batch`, from where they were mounted."""
    if names:
        _run_mounting(ip, ["-batch", "-"], "".join(f"netns delete {name}\n" for name in names))


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


def set_sysctl(key: str, value: str) -> bool:
    """Write /proc/sys/<key> in the calling thread's namespace; False if the key is absent
    (IPv6 disabled in this kernel, say)."""
    try:
        with open(f"/proc/sys/{key}", "w", encoding="ascii") as f:
            f.write(value)
    except FileNotFoundError:
        return False
    return True
