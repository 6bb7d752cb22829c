"""A real DHCPv6 client (ISC dhclient -6) run once in a VM namespace, its answer parsed.

Nothing sends router advertisements on our networks (a router's job), so the client is told
the mode itself: `-S` (information-request, stateless) or a plain solicit (stateful). The
lease, pid and DUID live in a temporary directory; the client's script only records what it
was told (nothing of the machine, resolv.conf say, is touched).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field

from tests.support.waiting import wait_until

DHCLIENT = "/usr/sbin/dhclient"


@dataclass(frozen=True)
class V6Answer:
    addresses: list[str] = field(default_factory=list)  # iaaddr of the lease
    name_servers: list[str] = field(default_factory=list)  # option dhcp6.name-servers


def link_local_ready(namespace: str, interface: str) -> bool:
    """The interface has a link-local address that finished DAD (a client binds to it)."""
    out = subprocess.run(["ip", "-n", namespace, "-j", "-6", "addr", "show", "dev", interface],
                         capture_output=True, text=True, check=False).stdout or "[]"
    for link in json.loads(out):
        for addr in link.get("addr_info", []):
            if addr.get("scope") == "link" and not addr.get("tentative"):
                return True
    return False


def parse_lease(text: str) -> V6Answer:
    """The last lease6 block of a dhclient -6 lease file."""
    blocks = text.split("lease6 {")
    if len(blocks) < 2:
        return V6Answer()
    last = blocks[-1]
    addresses = re.findall(r"iaaddr ([0-9a-fA-F:]+) \{", last)
    servers: list[str] = []
    for match in re.findall(r"option dhcp6\.name-servers ([^;]+);", last):
        servers += [s.strip() for s in match.split(",")]
    return V6Answer(addresses=addresses, name_servers=servers)


def dhclient6(namespace: str, interface: str = "eth0", stateless: bool = False,
              timeout: float = 30.0) -> V6Answer:
    """Run dhclient -6 once until it has an answer (or `timeout`); then stop it."""
    wait_until(lambda: link_local_ready(namespace, interface), timeout=20)
    with tempfile.TemporaryDirectory(prefix="dhclient6-") as tmp:
        lease, pid = os.path.join(tmp, "lease"), os.path.join(tmp, "pid")
        told, script = os.path.join(tmp, "told"), os.path.join(tmp, "script")
        with open(script, "w", encoding="ascii") as f:
            # An information-request's answer is in no lease file, only in the script's
            # environment; record it there and configure nothing.
            f.write(f'#!/bin/sh\necho "$reason $new_dhcp6_name_servers" >> {told}\n')
        os.chmod(script, 0o755)
        argv = ["ip", "netns", "exec", namespace, DHCLIENT, "-6", "-1", "-v",
                "-lf", lease, "-pf", pid, "-sf", script]
        if stateless:
            argv.append("-S")
        argv.append(interface)
        try:
            # dhclient goes to the background once it holds an answer: its exit is ours.
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  check=False)
            log = proc.stderr
        except subprocess.TimeoutExpired as exc:
            log = f"timed out after {timeout} s: {exc.stderr!r}"
        finally:
            _stop(pid)
        # Shown by pytest with a failing assertion on the answer (-rP shows it always).
        print(f"dhclient -6{' -S' if stateless else ''} in {namespace}: {log[-1500:]}")
        answer = parse_lease(_read(lease))
        servers = list(answer.name_servers)
        for line in _read(told).splitlines():
            reason, _, given = line.partition(" ")
            if reason in ("BOUND6", "INFORM6", "RENEW6", "REBIND6"):
                servers += [s for s in given.split() if s not in servers]
        return V6Answer(addresses=answer.addresses, name_servers=servers)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _stop(pid_file: str) -> None:
    try:
        with open(pid_file, encoding="ascii") as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
