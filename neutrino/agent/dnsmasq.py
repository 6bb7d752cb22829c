"""dnsmasq processes: spawn in a namespace, find again by pid file, reload, stop."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time

from neutrino.agent import namespaces
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.pids import cmdline, is_zombie, read_pid

LOG = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0


class DnsmasqError(Exception):
    """dnsmasq refused to start; the message carries its stderr."""


class ReleaseFailed(DnsmasqError):
    """dhcp_release is missing or failed: dnsmasq may still hold the lease."""


def running_pid(paths: ConfPaths) -> int | None:
    """The pid of the dnsmasq serving these files, if one runs: a pid file alone may point at
    a recycled pid, so the process's command line must name the same pid file."""
    pid = read_pid(paths.pid)
    if pid is None:
        return None
    argv = cmdline(pid)
    if (argv and os.path.basename(argv[0]) == "dnsmasq"
            and f"--pid-file={paths.pid}" in argv and not is_zombie(pid)):
        return pid
    return None


def spawn(namespace: str, argv: list[str]) -> None:
    """Start dnsmasq in the namespace. It daemonizes: its first process exits only once the
    daemon has bound its sockets (or failed), so a zero exit means it answers."""
    with namespaces.entered(namespace):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DnsmasqError(f"dnsmasq in {namespace} exited {proc.returncode}: "
                           f"{proc.stderr.strip()}")


def reload(pid: int) -> None:
    """SIGHUP: dnsmasq rereads --dhcp-hostsfile, --dhcp-optsfile and --addn-hosts."""
    os.kill(pid, signal.SIGHUP)


def release(namespace: str, interface: str, leases: list[tuple[str, str]],
            tool: str = "dhcp_release") -> None:
    """DHCPRELEASE each (IP, MAC) to the dnsmasq listening on `interface` in the namespace.

    dhcp_release (Debian dnsmasq-utils) forges the release the client would send, from the
    namespace's own address on that interface, so dnsmasq drops the lease from memory and
    rewrites its leases file; no restart, no request left unanswered. It does not wait for
    an answer (DHCPRELEASE has none), so a zero exit only says the packet went out.
    """
    with namespaces.entered(namespace):
        for ip, mac in leases:
            argv = [tool, interface, ip, mac]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            except OSError as exc:  # the tool is not installed (or not executable)
                raise ReleaseFailed(f"{tool} cannot run: {exc}") from exc
            if proc.returncode != 0:
                raise ReleaseFailed(f"{' '.join(argv)} in {namespace} exited "
                                    f"{proc.returncode}: {proc.stderr.strip()}")


def stop(paths: ConfPaths, timeout: float = STOP_TIMEOUT) -> None:
    stop_many([paths], timeout)


def stop_many(all_paths: list[ConfPaths], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every running one first, then wait: stopping 1000 takes one wait, not 1000."""
    signalled: list[tuple[ConfPaths, int]] = []
    for paths in all_paths:
        pid = running_pid(paths)
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        signalled.append((paths, pid))
    deadline = time.monotonic() + timeout
    for paths, pid in signalled:
        while running_pid(paths) == pid:
            if time.monotonic() > deadline:
                LOG.warning("dnsmasq %s did not stop on SIGTERM within %ss; killing it", pid,
                            timeout)
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.01)  # polling for the process to exit; there is no fd to wait on


def all_running(dhcp_confs: str) -> dict[str, int]:
    """network_id -> pid of every live dnsmasq below dhcp_confs (for adoption and cleanup)."""
    found = {}
    try:
        names = os.listdir(dhcp_confs)
    except FileNotFoundError:
        return {}
    for network_id in names:
        pid = running_pid(ConfPaths.for_network(dhcp_confs, network_id))
        if pid is not None:
            found[network_id] = pid
    return found
