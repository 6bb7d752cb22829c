"""What a change to a network requires of its dnsmasq (pure)."""
from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from neutrino.agent.dnsmasq_config import DnsmasqFiles, dhcp_subnets, tagged_ports
from neutrino.agent_protocol.messages import NetworkInfo, PortInfo


class Action(enum.Enum):
    NOTHING = "nothing"
    START = "start"  # nothing runs yet: namespace, port and dnsmasq from scratch
    RELOAD = "reload"  # rewrite the files and SIGHUP
    RESTART = "restart"  # re-plug the port and restart dnsmasq
    TEARDOWN = "teardown"  # stop dnsmasq, delete namespace and tap, release the port


@dataclass(frozen=True)
class Applied:
    """What the agent last configured for a network."""

    network: NetworkInfo
    dhcp_port: PortInfo
    files: DnsmasqFiles
    # Set while the network is handed over (it left this agent): the agent's clock reading
    # at which its dnsmasq is stopped and everything torn down.
    leaving_until: float | None = None


def handover_reply_delay(grace: int) -> int:
    """Seconds a leaving dnsmasq waits before each offer, given the handover's grace.

    A client that took the leaving dnsmasq's offer asks that server, by its address, for the
    lease; the new agent's dnsmasq ignores a request addressed to another server. Stopped
    between its offer and its answer, the leaving dnsmasq would leave the client with
    nothing until it gives up and starts over (seconds). Delayed, its offers come after the
    new agent's, which clients take; and what it offered before the delay began it still
    answers for the rest of the grace.
    """
    return max(1, min(2, grace // 2))


def wants_dhcp(network: NetworkInfo | None) -> bool:
    """A hosted, enabled network with at least one subnet dnsmasq serves gets a dnsmasq."""
    return network is not None and network.admin_state_up and bool(dhcp_subnets(network))


def is_stale(cached: NetworkInfo | None, fetched: NetworkInfo | None) -> bool:
    """A fetched state older than the one applied (reordered answers) must be ignored."""
    return (cached is not None and fetched is not None
            and fetched.revision_number < cached.revision_number)


def find_dhcp_port(network: NetworkInfo, device_id: str) -> PortInfo | None:
    return next((p for p in network.ports if p.device_id == device_id), None)


def dhcp_port_covers(port: PortInfo, network: NetworkInfo) -> bool:
    """The DHCP port needs an address on every served subnet to answer there."""
    have = {f.subnet_id for f in port.fixed_ips}
    return all(s.id in have for s in dhcp_subnets(network))


def interface_cidrs(port: PortInfo, network: NetworkInfo) -> list[str]:
    """Addresses of the namespace's port with their prefix: 10.0.1.2/24, 2001:db8::2/64."""
    by_id = {s.id: s for s in network.subnets if s.ip_version == 4}
    # v6 only where dnsmasq serves: a SLAAC subnet's address would be for nobody.
    by_id.update({s.id: s for s in dhcp_subnets(network) if s.ip_version == 6})
    cidrs = []
    for fixed in port.fixed_ips:
        subnet = by_id.get(fixed.subnet_id)
        if subnet is not None:
            prefix = ipaddress.ip_network(subnet.cidr, strict=False).prefixlen
            cidrs.append(f"{fixed.ip_address}/{prefix}")
    return sorted(cidrs)


def _restart_key(network: NetworkInfo, port: PortInfo) -> tuple[object, ...]:
    subnets = sorted((s.id, str(ipaddress.ip_network(s.cidr, strict=False)))
                     for s in dhcp_subnets(network))
    # The ports with extra_dhcp_opts are tagged on the command line (tagged_ports says why).
    return (tuple(subnets), port.id, port.mac_address, tuple(interface_cidrs(port, network)),
            network.mtu, tuple(tagged_ports(network, network.ports)))


def classify(old: Applied | None, network: NetworkInfo | None, dhcp_port: PortInfo | None,
             files: DnsmasqFiles | None) -> Action:
    """Decide from the applied and the desired state; `dnsmasq` state is checked elsewhere."""
    if not wants_dhcp(network) or dhcp_port is None or files is None:
        return Action.TEARDOWN if old is not None else Action.NOTHING
    assert network is not None
    if old is None:
        return Action.START
    if _restart_key(old.network, old.dhcp_port) != _restart_key(network, dhcp_port):
        return Action.RESTART
    if old.files != files:
        return Action.RELOAD
    return Action.NOTHING
