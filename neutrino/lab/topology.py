"""What the lab is made of: names, addresses and the agents' config files (pure)."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote

from neutrino.transport.urls import parse_transport_url

DEFAULT_PREFIX = "nlab-"
# Documentation ranges (TEST-NET-1..3), used only on our own bridge and in our namespaces.
# "auto" takes the first /26 of them that no route of this machine touches: some machines
# (CI sandboxes) number their own uplink from TEST-NET-1, and labs may run side by side.
DEFAULT_SUBNET = "auto"
CANDIDATE_NETWORKS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
AUTO_PREFIXLEN = 26
HOSTS = ("HostA", "HostB")
MAX_LINK_NAME = 15  # Linux IFNAMSIZ (16) minus the NUL
REPORT_INTERVAL = 2  # well under the seed's agent_down_time = 5
# The lab's DHCP agents serve their metrics here, each on its own host's address (every host
# is a namespace of its own, so one port for all of them never clashes).
AGENT_METRICS_PORT = 9110  # DHCP agents
L2_AGENT_METRICS_PORT = 9111
VM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class LabError(Exception):
    """Something the operator can fix; main prints it as one sentence."""


@dataclass(frozen=True)
class HostPlan:
    name: str         # the agents' `host`, e.g. HostA
    namespace: str    # nlab-HostA
    uplink: str       # root-namespace end of the host's eth0, plugged into the switch
    ip: str           # eth0 address, also the VXLAN local_ip
    dhcp_prefix: str  # the DHCP agent's namespace_prefix, unique per host

    def dhcp_namespace(self, network_id: str) -> str:
        return self.dhcp_prefix + network_id


@dataclass(frozen=True)
class LabPlan:
    prefix: str
    switch: str      # the physnet1 bridge in the root namespace
    switch_ip: str   # where agents reach the server
    prefixlen: int
    hosts: tuple[HostPlan, ...]

    def host(self, name: str) -> HostPlan:
        for host in self.hosts:
            if host.name.lower() == name.lower():
                return host
        raise LabError(f"There is no host {name!r} in the lab; hosts are "
                       f"{', '.join(h.name for h in self.hosts)}.")

    def vm_namespace(self, vm_name: str) -> str:
        return f"{self.prefix}vm-{vm_name}"


def plan_lab(prefix: str = DEFAULT_PREFIX, subnet: str = DEFAULT_SUBNET,
             hosts: tuple[str, ...] = HOSTS) -> LabPlan:
    """Names and addresses of a lab; raises LabError when a name would not fit the kernel."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", prefix):
        raise LabError(f"Lab prefix {prefix!r} must be lower-case letters, digits and dashes.")
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise LabError(f"Lab subnet {subnet!r} is not a network: {exc}.") from None
    if net.version != 4 or net.num_addresses < 8:
        raise LabError(f"Lab subnet {subnet} must be IPv4 and at least a /29.")
    addresses = list(net.hosts())
    plans = []
    for index, name in enumerate(hosts):
        uplink = f"{prefix}{name}-up"
        if len(uplink) > MAX_LINK_NAME:
            raise LabError(f"Link name {uplink!r} is longer than {MAX_LINK_NAME} characters; "
                           f"use a shorter prefix than {prefix!r}.")
        plans.append(HostPlan(name=name, namespace=f"{prefix}{name}", uplink=uplink,
                              ip=str(addresses[index]), dhcp_prefix=f"{prefix}{name}-dhcp-"))
    return LabPlan(prefix=prefix, switch=f"{prefix}phys", switch_ip=str(addresses[-1]),
                   prefixlen=net.prefixlen, hosts=tuple(plans))


def choose_subnet(in_use: list[str]) -> str:
    """The first candidate /26 that overlaps none of the networks in use."""
    used = [ipaddress.ip_network(n, strict=False) for n in in_use]
    for candidate in CANDIDATE_NETWORKS:
        for subnet in ipaddress.ip_network(candidate).subnets(new_prefix=AUTO_PREFIXLEN):
            if not any(subnet.overlaps(u) for u in used if u.version == 4):
                return str(subnet)
    raise LabError("Every documentation subnet (192.0.2.0/24, 198.51.100.0/24, "
                   "203.0.113.0/24) is in use on this machine; pass --subnet.")


def agent_server_url(plan: LabPlan, server_url: str) -> str:
    """The server as the hosts see it: its scheme and port on the switch address (the
    server's own 127.0.0.1 is a different loopback inside each host namespace)."""
    url = parse_transport_url(server_url)
    scheme = "https" if url.scheme == "https" else "http"
    return f"{scheme}://{plan.switch_ip}:{url.first.port or 9696}/"


@dataclass(frozen=True)
class RabbitAccess:
    """A broker the hosts reach on the switch address (the seed's rabbit_* keys)."""

    port: int
    userid: str
    password: str
    control_exchange: str = "neutron"


def transport_lines(plan: LabPlan, server_url: str, user: str, password: str,
                    rabbit: RabbitAccess | None, ca_file: str | None = None) -> str:
    if rabbit is not None:
        # Written as the seed's HostA/HostB files do: legacy keys, no transport_url.
        return (f"rabbit_host = {plan.switch_ip}\n"
                f"rabbit_port = {rabbit.port}\n"
                f"rabbit_userid = {rabbit.userid}\n"
                f"rabbit_password = {rabbit.password}\n"
                f"control_exchange = {rabbit.control_exchange}\n")
    base = agent_server_url(plan, server_url).rstrip("/")
    scheme, rest = base.split("://", 1)
    # https://: the server's certificate must name the switch address, and the agents
    # verify it against ca_file (the system's CAs without it).
    ca_line = f"transport_ca_file = {ca_file}\n" if ca_file and scheme == "https" else ""
    return (f"transport_url = {scheme}://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{rest}/?project=service\n{ca_line}")


def agent_configs(plan: LabPlan, host: HostPlan, server_url: str, user: str, password: str,
                  state_path: str, rabbit: RabbitAccess | None = None,
                  ca_file: str | None = None,
                  report_interval: int = REPORT_INTERVAL,
                  availability_zone: str | None = None) -> dict[str, str]:
    """File name -> text of the three files the host's agents read, with the seed's keys;
    `availability_zone`: both agents' [agent] availability_zone (None: the default, nova)."""
    zone_line = f"availability_zone = {availability_zone}\n" if availability_zone else ""
    neutron_conf = (
        "[DEFAULT]\n"
        f"host = {host.name}\n"
        f"state_path = {state_path}\n"
        + transport_lines(plan, server_url, user, password, rabbit, ca_file) +
        "[agent]\n"
        f"report_interval = {report_interval}\n" + zone_line)
    dhcp_ini = (
        "[DEFAULT]\n"
        "interface_driver = neutron.agent.linux.interface.BridgeInterfaceDriver\n"
        # Unique per host: both hosts' DHCP namespaces live in the one kernel.
        f"namespace_prefix = {host.dhcp_prefix}\n"
        "resync_interval = 10\n"
        "[agent]\n"
        f"metrics_port = {AGENT_METRICS_PORT}\n")
    linuxbridge_ini = (
        "[linux_bridge]\n"
        "physical_interface_mappings = physnet1:eth0\n"
        "[vxlan]\n"
        "enable_vxlan = True\n"
        f"local_ip = {host.ip}\n"
        # Empty group: unicast flooding to the other hosts' tunnel endpoints, which works on
        # any bridge without relying on IGMP snooping.
        "vxlan_group =\n"
        "[agent]\n"
        "polling_interval = 1\n"
        f"metrics_port = {L2_AGENT_METRICS_PORT}\n")
    return {"neutron.conf": neutron_conf, "dhcp_agent.ini": dhcp_ini,
            "linuxbridge_conf.ini": linuxbridge_ini}


def check_vm_name(name: str) -> str:
    if not VM_NAME.match(name):
        raise LabError(f"VM name {name!r} must be 1-40 letters, digits, '.', '_' or '-', "
                       "starting with a letter or digit.")
    return name
