"""Address and MAC allocation: pure decisions over plain data, no database."""
from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from neutrino import addresses
from neutrino.errors import InvalidInput, shown

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = addresses.IPAddress


@dataclass(frozen=True)
class Pool:
    start: str
    end: str

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True)
class SubnetPlan:
    """A validated subnet: normalised CIDR, gateway and pools."""

    cidr: str
    ip_version: int
    gateway_ip: str | None
    pools: tuple[Pool, ...]


def parse_cidr(cidr: str, ip_version: int | None = None) -> IPNetwork:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except (ValueError, TypeError):
        raise InvalidInput(f"'{shown(cidr)}' is not a valid CIDR, such as 10.0.1.0/24.") from None
    if "/" not in str(cidr):
        raise InvalidInput(f"'{shown(cidr)}' is not a valid CIDR: a prefix length such as /24 "
                           "is required.")
    if int(net.network_address) != int(ipaddress.ip_interface(cidr).ip):
        # Neutron refuses 9.2.9.1/24 rather than guessing that 9.2.9.0/24 was meant.
        raise InvalidInput(f"'{shown(cidr)}' is not a valid CIDR: host bits are set; the "
                           f"network is {net}.")
    if ip_version is not None and net.version != ip_version:
        raise InvalidInput(f"CIDR {net} is not an IPv{ip_version} network (ip_version is "
                           f"{ip_version}).")
    limit = 30 if net.version == 4 else 126
    if net.prefixlen > limit:
        raise InvalidInput(f"CIDR {net} is too small: the prefix length must be at most "
                           f"{limit} to leave room for a gateway and addresses.")
    return net


def parse_ip(value: str, what: str = "IP address") -> IPAddress:
    try:
        return addresses.parse_ip(value)
    except addresses.AddressSyntaxError:
        raise InvalidInput(f"'{shown(value)}' is not a valid {what}.") from None


def _host_range(net: IPNetwork) -> tuple[int, int]:
    """First and last assignable host: v4 leaves out network and broadcast addresses."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4:
        return first + 1, last - 1
    return first + 1, last


def plan_subnet(
    cidr: str,
    ip_version: int = 4,
    gateway_ip: str | object | None = ...,
    pools: Iterable[dict[str, str]] | None = None,
) -> SubnetPlan:
    """Validate a subnet request; `...` for gateway_ip means "the first host" (Neutron)."""
    net = parse_cidr(cidr, ip_version)
    low, high = _host_range(net)
    gateway: str | None
    if gateway_ip is ...:
        gateway = str(ipaddress.ip_address(low))
    elif gateway_ip is None:
        gateway = None
    else:
        gw = parse_ip(str(gateway_ip), "gateway_ip")
        if gw not in net or not (low <= int(gw) <= high):
            raise InvalidInput(f"Gateway {gateway_ip} is not a usable host address of subnet "
                               f"{net}.")
        gateway = str(gw)
    if pools:
        ranges = _validate_pools(net, pools, low, high)
        if gateway is not None:
            gw_int = int(ipaddress.ip_address(gateway))
            for start, end in ranges:
                if start <= gw_int <= end:
                    raise InvalidInput(f"Gateway {gateway} is inside allocation pool "
                                       f"{ipaddress.ip_address(start)}-"
                                       f"{ipaddress.ip_address(end)}; move one or the other.")
    else:
        ranges = _default_ranges(low, high, gateway)
    return SubnetPlan(
        cidr=str(net), ip_version=net.version, gateway_ip=gateway,
        pools=tuple(Pool(str(ipaddress.ip_address(s)), str(ipaddress.ip_address(e)))
                    for s, e in ranges),
    )


def _default_ranges(low: int, high: int, gateway: str | None) -> list[tuple[int, int]]:
    if gateway is None:
        return [(low, high)]
    gw = int(ipaddress.ip_address(gateway))
    ranges = []
    if low <= gw - 1:
        ranges.append((low, gw - 1))
    if gw + 1 <= high:
        ranges.append((gw + 1, high))
    return ranges


def _validate_pools(net: IPNetwork, pools: Iterable[dict[str, str]], low: int, high: int
                    ) -> list[tuple[int, int]]:
    ranges = []
    for pool in pools:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise InvalidInput("Each allocation pool must be an object with exactly 'start' "
                               "and 'end'.")
        start = parse_ip(pool["start"], "allocation pool start")
        end = parse_ip(pool["end"], "allocation pool end")
        if start.version != net.version or end.version != net.version:
            raise InvalidInput(f"Allocation pool {start}-{end} is not of IP version "
                               f"{net.version}.")
        if not (low <= int(start) <= high and low <= int(end) <= high):
            raise InvalidInput(f"Allocation pool {start}-{end} is outside the usable "
                               f"addresses of subnet {net}.")
        if int(start) > int(end):
            raise InvalidInput(f"Allocation pool {start}-{end}: start is after end.")
        ranges.append((int(start), int(end)))
    ranges.sort()
    for (s1, e1), (s2, e2) in zip(ranges, ranges[1:], strict=False):
        if s2 <= e1:
            raise InvalidInput(
                f"Allocation pools {ipaddress.ip_address(s1)}-{ipaddress.ip_address(e1)} and "
                f"{ipaddress.ip_address(s2)}-{ipaddress.ip_address(e2)} overlap.")
    return ranges


def in_pools(address: str, pools: Iterable[dict[str, str]]) -> bool:
    value = int(ipaddress.ip_address(address))
    return any(int(ipaddress.ip_address(p["start"])) <= value <= int(ipaddress.ip_address(p["end"]))
               for p in pools)


def free_addresses(pools: Iterable[dict[str, str]], used: set[str]) -> Iterator[str]:
    """Free addresses of the pools, lowest first."""
    used_ints = {int(ipaddress.ip_address(u)) for u in used}
    for pool in sorted(pools, key=lambda p: int(ipaddress.ip_address(p["start"]))):
        start = int(ipaddress.ip_address(pool["start"]))
        end = int(ipaddress.ip_address(pool["end"]))
        for value in range(start, end + 1):
            if value not in used_ints:
                yield str(ipaddress.ip_address(value))


@dataclass(frozen=True)
class FreedAddress:
    """An address a port let go, as the reuse quarantine remembers it."""

    address: str
    freed_at: datetime
    waiting: bool  # some DHCP agent that may still lease it to the old MAC has not confirmed


def reusable(freed: FreedAddress, now: datetime, quarantine: timedelta) -> bool:
    """Every agent confirmed, or the quarantine has passed since it was freed."""
    return not freed.waiting or now - freed.freed_at >= quarantine


def candidate_addresses(pools: Iterable[dict[str, str]], used: set[str],
                        freed: Iterable[FreedAddress], now: datetime,
                        quarantine: timedelta) -> Iterator[str]:
    """Addresses to offer a new port, best first.

    Never-freed free addresses come first, lowest first (Neutron's order): no DHCP server can
    hold a lease for them. Then freed ones that are reusable, least recently freed first, so
    that an address just given back is the last to be handed out again. An address still
    waited for within its quarantine is never offered. Nothing left: the caller reports the
    subnet exhausted.
    """
    pools = list(pools)
    freed = [f for f in freed if f.address not in used]
    held = {f.address for f in freed}
    yield from free_addresses(pools, used | held)
    ready = sorted((f for f in freed if reusable(f, now, quarantine)
                    and in_pools(f.address, pools)),
                   key=lambda f: (f.freed_at, int(ipaddress.ip_address(f.address))))
    for item in ready:
        yield item.address


def cidrs_overlap(a: str, b: str) -> bool:
    na, nb = ipaddress.ip_network(a), ipaddress.ip_network(b)
    return na.version == nb.version and na.overlaps(nb)  # type: ignore[arg-type]


def validate_mac(mac: str) -> str:
    """A port's MAC: a MAC address (addresses.parse_mac), unicast and not all zeros."""
    try:
        value = addresses.parse_mac(mac)
    except addresses.AddressSyntaxError:
        raise InvalidInput(f"'{shown(mac)}' is not a valid MAC address such as "
                           "fa:16:3e:12:34:56.") from None
    if addresses.is_multicast_mac(value):
        raise InvalidInput(f"MAC address {mac} is a multicast address; a port needs a unicast "
                           "MAC.")
    if value == "00:00:00:00:00:00":
        raise InvalidInput("MAC address 00:00:00:00:00:00 is not allowed.")
    return value


def random_mac(base_mac: str, rng: random.Random) -> str:
    """A MAC with `base_mac`'s first three octets (Neutron: fa:16:3e), the rest random."""
    octets = base_mac.split(":")
    fixed = [o for o in octets[:3]]
    for original in octets[3:]:
        fixed.append(original if original != "00" else f"{rng.randrange(256):02x}")
    return ":".join(fixed)


def validate_route(route: dict[str, str]) -> dict[str, str]:
    """A host route: {"destination": CIDR, "nexthop": IP}, normalised."""
    if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
        raise InvalidInput("Each host route must be an object with exactly 'destination' and "
                           "'nexthop'.")
    try:
        destination = ipaddress.ip_network(route["destination"], strict=True)
    except (ValueError, TypeError):
        raise InvalidInput(f"Host route destination '{shown(route['destination'])}' is not a valid "
                           "CIDR such as 10.0.2.0/24.") from None
    nexthop = parse_ip(route["nexthop"], "host route nexthop")
    return {"destination": str(destination), "nexthop": str(nexthop)}
