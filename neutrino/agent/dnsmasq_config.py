"""What dnsmasq is told for one network: its files and its command line (pure)."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from neutrino.agent_protocol.messages import NetworkInfo, PortInfo, SubnetInfo

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
    """Subnets dnsmasq serves: IPv4 with enable_dhcp (IPv6 is not served yet)."""
    return [s for s in network.subnets if s.enable_dhcp and s.ip_version == 4]


def hostname_for(ip: str) -> str:
    """Neutron's generated name: host-10-0-1-3 for 10.0.1.3."""
    return "host-" + ip.replace(".", "-").replace(":", "-")


def served_addresses(network: NetworkInfo, ports: list[PortInfo]) -> list[tuple[PortInfo, str]]:
    """(port, IP) of every address the hosts file lists: enabled ports on served subnets."""
    served = {s.id for s in dhcp_subnets(network)}
    pairs = []
    for port in ports:
        if not port.admin_state_up:
            continue
        for fixed in port.fixed_ips:
            if fixed.subnet_id in served:
                pairs.append((port, fixed.ip_address))
    return pairs


def render_hosts(network: NetworkInfo, ports: list[PortInfo]) -> str:
    """--dhcp-hostsfile: `MAC,host-<ip>.openstacklocal,IP` per served address, DHCP port too."""
    lines = [f"{port.mac_address},{hostname_for(ip)}.{DOMAIN},{ip}"
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
                   for port, ip in served_addresses(network, ports))


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
        argv.append(f"--dhcp-range=set:subnet-{subnet.id},{net.network_address},static,"
                    f"{net.netmask},{lease_text(lease_duration)}")
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
