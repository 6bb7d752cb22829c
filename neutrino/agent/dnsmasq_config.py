"""What dnsmasq is told for one network: its files and its command line (pure)."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from neutrino import ipv6
from neutrino.transport.messages import NetworkInfo, PortInfo, SubnetInfo

DOMAIN = "openstacklocal"
# dnsmasq's own cap; Neutron uses the same bound on --dhcp-lease-max.
MAX_LEASES = 2**24


@dataclass(frozen=True)
class ConfPaths:
    """Where one network's dnsmasq files live: <dhcp_confs>/<network_id>/."""

    directory: str

    @classmethod
    def for_network(cls, dhcp_confs: str, network_id: str) -> ConfPaths:
        return cls(os.path.join(dhcp_confs, network_id))

    @property
    def hosts(self) -> str:
        return os.path.join(self.directory, "host")

    @property
    def addn_hosts(self) -> str:
        return os.path.join(self.directory, "addn_hosts")

    @property
    def opts(self) -> str:
        return os.path.join(self.directory, "opts")

    @property
    def leases(self) -> str:
        return os.path.join(self.directory, "leases")

    @property
    def pid(self) -> str:
        return os.path.join(self.directory, "pid")


@dataclass(frozen=True)
class DnsmasqFiles:
    hosts: str
    addn_hosts: str
    opts: str


def dhcp_subnets(network: NetworkInfo) -> list[SubnetInfo]:
    """Subnets dnsmasq serves: IPv4 with enable_dhcp, and DHCPv6 (stateful or stateless)."""
    return [s for s in network.subnets if s.enable_dhcp and _served(s)]


def _served(subnet: SubnetInfo) -> bool:
    if subnet.ip_version == 4:
        return True
    if ipaddress.ip_network(subnet.cidr, strict=False).prefixlen < ipv6.EUI64_PREFIX_LEN:
        # dnsmasq's DHCPv6 contexts are /64 or longer; Neutron leaves these out too.
        return False
    # SLAAC: the router's advertisements give everything, DHCPv6 nothing. A v6 subnet
    # without modes is served statefully, as Neutron does.
    return (subnet.ipv6_address_mode or subnet.ipv6_ra_mode) != ipv6.SLAAC


def gives_addresses(subnet: SubnetInfo) -> bool:
    """dnsmasq hands this subnet's addresses out (IPv4 and DHCPv6-stateful), not only options."""
    return subnet.ip_version == 4 or not ipv6.is_auto_address(subnet.ipv6_address_mode,
                                                              subnet.ipv6_ra_mode)


def hostname_for(ip: str) -> str:
    """Neutron's generated name: host-10-0-1-3 for 10.0.1.3."""
    return "host-" + ip.replace(".", "-").replace(":", "-")


def served_addresses(network: NetworkInfo, ports: list[PortInfo]) -> list[tuple[PortInfo, str]]:
    """(port, IP) of every address the hosts file lists: enabled ports on served subnets.

    DHCPv6-stateless addresses are the VMs' own EUI-64 (SLAAC), never handed out, so they
    are not listed.
    """
    served = {s.id for s in dhcp_subnets(network) if gives_addresses(s)}
    pairs = []
    for port in ports:
        if not port.admin_state_up:
            continue
        for fixed in port.fixed_ips:
            if fixed.subnet_id in served:
                pairs.append((port, fixed.ip_address))
    return pairs


def lease_addresses(network: NetworkInfo, ports: list[PortInfo]) -> list[tuple[PortInfo, str]]:
    """The IPv4 part of served_addresses: a DHCPv6 lease is keyed by the client's DUID and
    IAID, which only the client knows, so v6 leases can be neither seeded nor released."""
    return [(port, ip) for port, ip in served_addresses(network, ports) if ":" not in ip]


def _host_address(ip: str) -> str:
    # dnsmasq reads IPv6 addresses of dhcp-host lines in brackets.
    return f"[{ip}]" if ":" in ip else ip


def render_hosts(network: NetworkInfo, ports: list[PortInfo]) -> str:
    """--dhcp-hostsfile: `MAC,host-<ip>.openstacklocal,IP` per served address, DHCP port too.

    DHCPv6 entries are keyed by MAC as well: dnsmasq learns a directly connected client's
    MAC from its packets, whatever DUID the client sends.
    """
    lines = [f"{port.mac_address},{hostname_for(ip)}.{DOMAIN},{_host_address(ip)}"
             for port, ip in served_addresses(network, ports)]
    return "".join(line + "\n" for line in sorted(lines, key=_line_order))


def render_addn_hosts(network: NetworkInfo, ports: list[PortInfo]) -> str:
    """--addn-hosts: `IP fqdn shortname`, for when dnsmasq answers DNS."""
    lines = [f"{ip}\t{hostname_for(ip)}.{DOMAIN} {hostname_for(ip)}"
             for _port, ip in served_addresses(network, ports)]
    return "".join(line + "\n" for line in sorted(lines))


def _line_order(line: str) -> tuple[str, str]:
    mac, _, rest = line.partition(",")
    return (rest, mac)


def render_opts(network: NetworkInfo, dns_servers_default: list[str]) -> str:
    """--dhcp-optsfile: router, dns-server, mtu and classless routes, tagged per subnet."""
    lines = []
    for subnet in sorted(dhcp_subnets(network), key=lambda s: s.id):
        tag = f"tag:subnet-{subnet.id}"
        if subnet.ip_version == 6:
            lines += _v6_opts(tag, subnet, dns_servers_default)
            continue
        # dnsmasq offers its own address as router unless told otherwise; an empty
        # option:router makes it send no router at all (subnet without gateway_ip).
        lines.append(f"{tag},option:router" + (f",{subnet.gateway_ip}"
                                               if subnet.gateway_ip else ""))
        dns = subnet.dns_nameservers or dns_servers_default
        if dns:
            lines.append(f"{tag},option:dns-server," + ",".join(dns))
        lines.append(f"{tag},option:mtu,{network.mtu}")
        routes = [(r.destination, r.nexthop) for r in subnet.host_routes]
        if routes:
            # RFC 3442: a client that gets classless routes ignores option router, so the
            # default route must be repeated among them.
            if subnet.gateway_ip and not any(d == "0.0.0.0/0" for d, _ in routes):
                routes.append(("0.0.0.0/0", subnet.gateway_ip))
            flat = ",".join(f"{d},{n}" for d, n in routes)
            lines.append(f"{tag},option:classless-static-route,{flat}")
            # Windows clients only read the pre-standard option 249.
            lines.append(f"{tag},249,{flat}")
    return "".join(line + "\n" for line in lines)


def _v6_opts(tag: str, subnet: SubnetInfo, dns_servers_default: list[str]) -> list[str]:
    """DHCPv6 has no router, MTU or route options (router advertisements carry those)."""
    dns = [d for d in (subnet.dns_nameservers or dns_servers_default) if ":" in d]
    return [f"{tag},option6:dns-server," + ",".join(f"[{d}]" for d in dns)] if dns else []


def render_files(network: NetworkInfo, ports: list[PortInfo],
                 dns_servers_default: list[str]) -> DnsmasqFiles:
    return DnsmasqFiles(hosts=render_hosts(network, ports),
                        addn_hosts=render_addn_hosts(network, ports),
                        opts=render_opts(network, dns_servers_default))


def render_leases(network: NetworkInfo, ports: list[PortInfo], now: int,
                  lease_duration: int) -> str:
    """Leases file seeded from the ports, so that after failover this dnsmasq ACKs the
    renewals of clients whose lease another agent granted instead of refusing them."""
    expiry = 0 if lease_duration < 0 else now + lease_duration  # 0: infinite for dnsmasq
    return "".join(f"{expiry} {port.mac_address} {ip} {hostname_for(ip)} *\n"
                   for port, ip in lease_addresses(network, ports))


def lease_text(lease_duration: int) -> str:
    return "infinite" if lease_duration < 0 else f"{lease_duration}s"


def dnsmasq_argv(network: NetworkInfo, paths: ConfPaths, interface: str,
                 lease_duration: int, dnsmasq_path: str = "dnsmasq") -> list[str]:
    """The dnsmasq command line: static DHCP only (no DNS), bound to the namespace's port."""
    subnets = sorted(dhcp_subnets(network), key=lambda s: s.id)
    argv = [
        dnsmasq_path,
        "--no-hosts",
        "--no-resolv",
        f"--pid-file={paths.pid}",
        f"--dhcp-hostsfile={paths.hosts}",
        f"--addn-hosts={paths.addn_hosts}",
        f"--dhcp-optsfile={paths.opts}",
        f"--dhcp-leasefile={paths.leases}",
    ]
    total = 0
    for subnet in subnets:
        net = ipaddress.ip_network(subnet.cidr, strict=False)
        total += net.num_addresses
        # DHCPv6 takes a prefix length where v4 takes a netmask. `static` for both v6 modes,
        # as Neutron: only hosts-file entries get addresses (stateless subnets have none),
        # and every client on the link gets the subnet's options (information-request).
        mask = net.netmask if net.version == 4 else net.prefixlen
        argv.append(f"--dhcp-range=set:subnet-{subnet.id},{net.network_address},static,"
                    f"{mask},{lease_text(lease_duration)}")
    argv += [
        f"--dhcp-lease-max={min(total, MAX_LEASES)}",
        f"--interface={interface}",
        "--bind-interfaces",
        "--except-interface=lo",
        "--conf-file=/dev/null",
        f"--domain={DOMAIN}",
        # DHCP only: DNS for instances is out of scope, and port 53 would clash.
        "--port=0",
    ]
    return argv
