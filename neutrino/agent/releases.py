"""Which leases a running dnsmasq must forget when a network's served addresses change (pure).

dnsmasq keeps a lease for (IP, MAC) in memory, and in its leases file, after the MAC has left
its hosts file: a SIGHUP rereads the hosts file but keeps every lease. While that lease lives,
dnsmasq refuses the IP to any other MAC ("not using configured address ... because it is
leased to ..."), so the next owner of a freed address gets nothing until the old lease
expires. The agent therefore sends a DHCPRELEASE for every pair dnsmasq may still hold that
the new hosts file no longer has (issue 14).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from neutrino.agent.dnsmasq_config import served_addresses
from neutrino.agent_protocol.messages import NetworkInfo, PortInfo


@dataclass(frozen=True, order=True)
class Lease:
    """One address as dnsmasq hands it to one MAC (lower case)."""

    ip: str
    mac: str


def served_leases(network: NetworkInfo, ports: Iterable[PortInfo]) -> set[Lease]:
    """The pairs the hosts file of this state lists: what dnsmasq may lease."""
    return {Lease(ip, port.mac_address.lower())
            for port, ip in served_addresses(network, list(ports))}


def parse_leases_file(text: str) -> set[Lease]:
    """IPv4 pairs of a dnsmasq leases file (`expiry mac ip hostname client-id` per line).

    The file is rewritten in place by dnsmasq, so a read may catch half of it: malformed
    lines, DHCPv6 lines (after `duid`) and anything that is not an IPv4 address are skipped.
    """
    found = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0] == "duid":
            continue
        mac, ip = fields[1].lower(), fields[2]
        try:
            if ipaddress.ip_address(ip).version != 4:
                continue
        except ValueError:
            continue
        parts = mac.split(":")
        if len(parts) != 6 or not all(len(p) == 2 for p in parts):
            continue
        found.add(Lease(ip, mac))
    return found


def stale_leases(held: Iterable[Lease], wanted: Iterable[Lease]) -> list[Lease]:
    """Pairs dnsmasq may hold that the new state no longer serves, in a stable order.

    `held` is what was applied before plus what the leases file shows: the leases file covers
    what an earlier agent run applied (an adopted dnsmasq), the applied state covers a file
    read while dnsmasq was rewriting it. Releasing a pair dnsmasq does not hold is harmless.
    """
    return sorted(set(held) - set(wanted))
