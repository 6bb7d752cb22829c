"""What dnsmasq is told for one network: its files and its command line (pure)."""
from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass

from neutrino import dhcp_options, ipv6
from neutrino.agent_protocol.messages import NetworkInfo, PortInfo, SubnetInfo
from neutrino.dns_names import DEFAULT_DOMAIN, hostname_for

LOG = logging.getLogger(__name__)

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


def names_for(port: PortInfo, ip: str, domain: str) -> tuple[str, str]:
    """(hostname, FQDN without its final dot) of one address: the server's dns_assignment
    when it sent one (dns_name), else Neutron's host-<ip> in the agent's dns_domain."""
    for name in port.dns_assignment:
        if name.ip_address == ip:
            return name.hostname.rstrip("."), name.fqdn.rstrip(".")
    host = hostname_for(ip)
    return host, (f"{host}.{domain.rstrip('.')}" if domain else host)


def render_hosts(network: NetworkInfo, ports: list[PortInfo], domain: str = DOMAIN) -> str:
    """--dhcp-hostsfile: `MAC,host-<ip>.openstacklocal,IP` per served address, DHCP port too.

    DHCPv6 entries are keyed by MAC as well: dnsmasq learns a directly connected client's
    MAC from its packets, whatever DUID the client sends.
    """
    lines = [f"{port.mac_address},{names_for(port, ip, domain)[1]},{_host_address(ip)}"
             for port, ip in served_addresses(network, ports)]
    return "".join(line + "\n" for line in sorted(lines, key=_line_order))


def tagged_ports(network: NetworkInfo, ports: list[PortInfo]) -> list[tuple[str, str]]:
    """(port id, MAC) of the ports whose options the opts file carries, sorted.

    Their tags are set by --dhcp-mac on the command line, not by `set:` in the hosts file
    as Neutron does: dnsmasq 2.90 (Debian 12's) frees memory it does not own when it
    rereads a hosts file whose `set:` entry has answered a client, and dies on the SIGHUP
    (docs/dhcp-options.md). So a port gaining its first option or losing its last one
    restarts dnsmasq; changing the options of a tagged port is a SIGHUP.
    """
    return sorted((port.id, port.mac_address) for port, _ in port_option_lines(network, ports))


def port_option_lines(network: NetworkInfo, ports: list[PortInfo]
                      ) -> list[tuple[PortInfo, list[str]]]:
    """--dhcp-optsfile lines of each port's extra_dhcp_opts, for the IP versions it is served
    on: `tag:port-<id>,option:bootfile-name,pxelinux.0`. Ports without any are left out.

    A port's tag is set by --dhcp-mac (tagged_ports), and a dhcp-range tag counts less than
    any other when dnsmasq picks options: a port's option wins over its subnet's.
    """
    versions: dict[str, set[int]] = {}
    for port, ip in served_addresses(network, ports):
        versions.setdefault(port.id, set()).add(ipaddress.ip_address(ip).version)
    found = []
    for port in sorted(ports, key=lambda p: p.id):
        lines = []
        for opt in port.extra_dhcp_opts:
            if opt.ip_version not in versions.get(port.id, ()):
                continue
            try:
                name = dhcp_options.parse_name(opt.opt_name, opt.ip_version)
                value = dhcp_options.check_value(name, opt.opt_value, opt.ip_version)
            except dhcp_options.InvalidDhcpOption as exc:
                # The server checks every option; one that still fails here (another server
                # version) must not break the file for the network's other ports.
                LOG.warning("port %s: DHCP option %r skipped: %s", port.id, opt.opt_name, exc)
                continue
            field = name.dnsmasq_field(opt.ip_version)
            lines.append(f"tag:{dhcp_options.port_tag(port.id)},{field}"
                         + (f",{value}" if value else ""))
        if lines:
            found.append((port, lines))
    return found


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
        if subnet.ip_version == 6:
            lines += _v6_opts(tag, subnet, own.get(subnet.id))
            continue
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


def _v6_opts(tag: str, subnet: SubnetInfo, own: str | None) -> list[str]:
    """DHCPv6 has no router, MTU or route options (router advertisements carry those); DNS
    servers as for IPv4: the subnet's, none for Neutron's `::`, else this dnsmasq."""
    if subnet.dns_nameservers == ["::"]:
        return []
    servers = subnet.dns_nameservers or ([own] if own else [])
    dns = [d for d in servers if ":" in d]
    return [f"{tag},option6:dns-server," + ",".join(f"[{d}]" for d in dns)] if dns else []


def render_files(network: NetworkInfo, ports: list[PortInfo], dhcp_port: PortInfo | None,
                 domain: str = DOMAIN) -> DnsmasqFiles:
    """Every file of one network; `dhcp_port` is this agent's own (its address is the DNS
    server handed out), `domain` the agent's dns_domain."""
    port_opts = "".join(line + "\n" for _port, lines in port_option_lines(network, ports)
                        for line in lines)
    return DnsmasqFiles(hosts=render_hosts(network, ports, domain),
                        addn_hosts=render_addn_hosts(network, ports, domain),
                        opts=render_opts(network, dhcp_port) + port_opts)


def render_leases(network: NetworkInfo, ports: list[PortInfo], now: int,
                  lease_duration: int) -> str:
    """Leases file seeded from the ports, so that after failover this dnsmasq ACKs the
    renewals of clients whose lease another agent granted instead of refusing them."""
    expiry = 0 if lease_duration < 0 else now + lease_duration  # 0: infinite for dnsmasq
    return "".join(f"{expiry} {port.mac_address} {ip} {hostname_for(ip)} *\n"
                   for port, ip in lease_addresses(network, ports))


@dataclass(frozen=True)
class DnsmasqOptions:
    """The DHCP agent options (Neutron's names) that shape every network's dnsmasq flags."""

    lease_max: int = MAX_LEASES  # dnsmasq_lease_max
    renewal_time: int = 0  # dhcp_renewal_time; 0: dnsmasq's own T1 (half the lease)
    rebinding_time: int = 0  # dhcp_rebinding_time; 0: dnsmasq's own T2 (7/8 of the lease)
    config_file: str = ""  # dnsmasq_config_file; empty: none (/dev/null)
    broadcast_reply: bool = False  # dhcp_broadcast_reply


def option_flags(options: DnsmasqOptions) -> list[str]:
    """The flags the agent options add; none at their defaults, so that a dnsmasq started
    before they existed keeps being adopted (same command line)."""
    flags = []
    if options.renewal_time > 0:
        # -force: T1/T2 go out even to clients that do not ask for them (as Neutron does).
        flags.append(f"--dhcp-option-force=option:T1,{options.renewal_time}s")
    if options.rebinding_time > 0:
        flags.append(f"--dhcp-option-force=option:T2,{options.rebinding_time}s")
    if options.broadcast_reply:
        # Clients that cannot take a unicast reply before they have an address.
        flags.append("--dhcp-broadcast")
    return flags


def lease_text(lease_duration: int) -> str:
    return "infinite" if lease_duration < 0 else f"{lease_duration}s"


def dnsmasq_argv(network: NetworkInfo, paths: ConfPaths, interface: str,
                 lease_duration: int, dnsmasq_path: str = "dnsmasq",
                 dns: DnsService = DnsService(),
                 options: DnsmasqOptions = DnsmasqOptions(), reply_delay: int = 0
                 ) -> list[str]:
    """The dnsmasq command line: static DHCP and the network's DNS, bound to the namespace's
    port only (--interface + --bind-interfaces: port 53 of that address, nowhere else).
    `reply_delay`: seconds before each DHCPOFFER, while the network is handed over
    (changes.handover_reply_delay)."""
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
        # DHCPv6 takes a prefix length where v4 takes a netmask. `static` for both v6 modes,
        # as Neutron: only hosts-file entries get addresses (stateless subnets have none),
        # and every client on the link gets the subnet's options (information-request).
        mask = net.netmask if net.version == 4 else net.prefixlen
        argv.append(f"--dhcp-range=set:subnet-{subnet.id},{net.network_address},static,"
                    f"{mask},{lease_text(lease_duration)}")
    argv += [
        f"--dhcp-lease-max={min(total, options.lease_max)}",
        f"--interface={interface}",
        "--bind-interfaces",
        "--except-interface=lo",
        f"--conf-file={options.config_file or '/dev/null'}",
        *((f"--domain={dns.domain.rstrip('.')}",) if dns.domain else ()),
    ]
    argv += [f"--dhcp-mac=set:{dhcp_options.port_tag(port_id)},{mac}"
             for port_id, mac in tagged_ports(network, network.ports)]
    if reply_delay:
        argv.append(f"--dhcp-reply-delay={reply_delay}")
    return argv + option_flags(options)
