"""What dnsmasq is told for one network: its files and its command line (pure)."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from neutrino.dns_names import DEFAULT_DOMAIN, hostname_for
from neutrino.transport.messages import NetworkInfo, PortInfo, SubnetInfo

DOMAIN = DEFAULT_DOMAIN
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
class DnsService:
    """What dnsmasq's DNS answers and forwards (agent settings dns_domain,
    dnsmasq_dns_servers, dnsmasq_local_resolv)."""

    domain: str = DOMAIN
    servers: tuple[str, ...] = ()
    # False: nothing goes to the host's resolv.conf servers (Neutron's default).
    local_resolv: bool = False


@dataclass(frozen=True)
class DnsmasqFiles:
    hosts: str
    addn_hosts: str
    opts: str


def dhcp_subnets(network: NetworkInfo) -> list[SubnetInfo]:
    """Subnets dnsmasq serves: IPv4 with enable_dhcp (IPv6 is not served yet)."""
    return [s for s in network.subnets if s.enable_dhcp and s.ip_version == 4]


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


def names_for(port: PortInfo, ip: str, domain: str) -> tuple[str, str]:
    """(hostname, FQDN without its final dot) of one address: the server's dns_assignment
    when it sent one (dns_name), else Neutron's host-<ip> in the agent's dns_domain."""
    for name in port.dns_assignment:
        if name.ip_address == ip:
            return name.hostname.rstrip("."), name.fqdn.rstrip(".")
    host = hostname_for(ip)
    return host, (f"{host}.{domain.rstrip('.')}" if domain else host)


def render_hosts(network: NetworkInfo, ports: list[PortInfo], domain: str = DOMAIN) -> str:
    """--dhcp-hostsfile: `MAC,host-<ip>.openstacklocal,IP` per served address, DHCP port too."""
    lines = [f"{port.mac_address},{names_for(port, ip, domain)[1]},{ip}"
             for port, ip in served_addresses(network, ports)]
    return "".join(line + "\n" for line in sorted(lines, key=_line_order))


def render_addn_hosts(network: NetworkInfo, ports: list[PortInfo], domain: str = DOMAIN
                      ) -> str:
    """--addn-hosts: `IP fqdn hostname`: the names dnsmasq's DNS answers for."""
    lines = []
    for port, ip in served_addresses(network, ports):
        host, fqdn = names_for(port, ip, domain)
        lines.append(f"{ip}\t{fqdn} {host}" if host != fqdn else f"{ip}\t{fqdn}")
    return "".join(line + "\n" for line in sorted(lines))


def _line_order(line: str) -> tuple[str, str]:
    mac, _, rest = line.partition(",")
    return (rest, mac)


def render_opts(network: NetworkInfo, dhcp_port: PortInfo | None) -> str:
    """--dhcp-optsfile: router, dns-server, mtu and classless routes, tagged per subnet."""
    own = {f.subnet_id: f.ip_address for f in dhcp_port.fixed_ips} if dhcp_port else {}
    lines = []
    for subnet in sorted(dhcp_subnets(network), key=lambda s: s.id):
        tag = f"tag:subnet-{subnet.id}"
        # dnsmasq offers its own address as router unless told otherwise; an empty
        # option:router makes it send no router at all (subnet without gateway_ip).
        lines.append(f"{tag},option:router" + (f",{subnet.gateway_ip}"
                                               if subnet.gateway_ip else ""))
        if subnet.dns_nameservers == ["0.0.0.0"]:
            # Neutron's way of saying "announce no DNS server at all".
            lines.append(f"{tag},option:dns-server")
        elif subnet.dns_nameservers:
            lines.append(f"{tag},option:dns-server," + ",".join(subnet.dns_nameservers))
        elif subnet.id in own:
            # No servers of its own: this dnsmasq answers (internal DNS, forwards the rest).
            lines.append(f"{tag},option:dns-server,{own[subnet.id]}")
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


def render_files(network: NetworkInfo, ports: list[PortInfo], dhcp_port: PortInfo | None,
                 domain: str = DOMAIN) -> DnsmasqFiles:
    """Every file of one network; `dhcp_port` is this agent's own (its address is the DNS
    server handed out), `domain` the agent's dns_domain."""
    return DnsmasqFiles(hosts=render_hosts(network, ports, domain),
                        addn_hosts=render_addn_hosts(network, ports, domain),
                        opts=render_opts(network, dhcp_port))


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
                 lease_duration: int, dnsmasq_path: str = "dnsmasq",
                 dns: DnsService = DnsService()) -> list[str]:
    """The dnsmasq command line: static DHCP and the network's DNS, bound to the namespace's
    port only (--interface + --bind-interfaces: port 53 of that address, nowhere else)."""
    subnets = sorted(dhcp_subnets(network), key=lambda s: s.id)
    argv = [
        dnsmasq_path,
        "--no-hosts",
        *(() if dns.local_resolv else ("--no-resolv",)),
        *(f"--server={server}" for server in dns.servers),
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
        *((f"--domain={dns.domain.rstrip('.')}",) if dns.domain else ()),
    ]
    return argv
