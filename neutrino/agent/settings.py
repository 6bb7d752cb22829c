"""Config options of the DHCP agent and the Linux bridge agent (Neutron key names)."""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neutrino.agent.dnsmasq_config import MAX_LEASES, DnsmasqOptions
from neutrino.config import (
    COMMON_OPTS,
    ConfigError,
    IniFiles,
    Opt,
    default_state_path,
    effective_transport_url,
    int_in,
    load_options,
    log_options,
    one_of,
    parse_bool,
    parse_dns_domain,
    parse_ip,
    parse_list,
    parse_mappings,
    parse_optional_ip,
    parse_str,
    rabbit_tls,
    report_unused,
)
from neutrino.dns_names import DEFAULT_DOMAIN
from neutrino.logs import LogOptions
from neutrino.tls import ClientTls, TlsFileError
from neutrino.transport.rabbit_topology import parse_rabbit_url
from neutrino.transport.urls import TransportUrlError, parse_transport_url

LOG = logging.getLogger(__name__)

# Neutron's default agent_down_time is 75 s and the seed runs with 5 s; an agent reporting
# less often than that is shown dead between heartbeats.
TYPICAL_AGENT_DOWN_TIME = 75
SEED_AGENT_DOWN_TIME = 5
REPORT_INTERVAL_WARN_ABOVE = 15

INTERFACE_DRIVER_ALIASES = {
    "neutron.agent.linux.interface.BridgeInterfaceDriver": "linuxbridge",
    "BridgeInterfaceDriver": "linuxbridge",
    "bridge": "linuxbridge",
}
DHCP_DRIVER_ALIASES = {
    "neutron.agent.linux.dhcp.Dnsmasq": "dnsmasq",
    "Dnsmasq": "dnsmasq",
}
# What the agent shows in its `configurations`, as the seed's agent-show does.
DHCP_DRIVER_REPORTED = "neutron.agent.linux.dhcp.Dnsmasq"

_AGENT_OPTS: tuple[Opt, ...] = (
    Opt("report_interval", "agent", "report_interval", int_in(1), 30,
        (("AGENT", "report_interval"),)),
    Opt("availability_zone", "agent", "availability_zone", parse_str, "nova",
        (("AGENT", "availability_zone"),)),
    # transport_url = https://…: the CA to verify the server with (empty: the system's CAs)
    # and, for a server whose [ssl] ca_file asks for one, this agent's certificate. Neutron
    # has no such keys (its agents reach the server only through oslo.messaging); they are
    # named for transport_url, next to which they sit, and apart from the server's [ssl].
    Opt("transport_ca_file", "DEFAULT", "transport_ca_file", parse_str, ""),
    Opt("transport_cert_file", "DEFAULT", "transport_cert_file", parse_str, ""),
    Opt("transport_key_file", "DEFAULT", "transport_key_file", parse_str, ""),
    # Prometheus metrics on this port (docs/metrics.md); 0, the default: none. They show
    # network ids and counts, no secrets; metrics_host narrows where they are served.
    Opt("metrics_port", "agent", "metrics_port", int_in(0, 65535), 0,
        (("AGENT", "metrics_port"),)),
    Opt("metrics_host", "agent", "metrics_host", parse_ip, "0.0.0.0",
        (("AGENT", "metrics_host"),)),
)

DHCP_AGENT_OPTS: tuple[Opt, ...] = COMMON_OPTS + _AGENT_OPTS + (
    Opt("interface_driver", "DEFAULT", "interface_driver",
        one_of("linuxbridge", aliases=INTERFACE_DRIVER_ALIASES), "linuxbridge"),
    Opt("dhcp_driver", "DEFAULT", "dhcp_driver",
        one_of("dnsmasq", aliases=DHCP_DRIVER_ALIASES), "dnsmasq"),
    Opt("dhcp_confs", "DEFAULT", "dhcp_confs", parse_str, None),
    Opt("dhcp_lease_duration", "DEFAULT", "dhcp_lease_duration", int_in(-1), 86400),
    Opt("dnsmasq_dns_servers", "DEFAULT", "dnsmasq_dns_servers", parse_list, []),
    # True: dnsmasq also forwards to the servers of the host's /etc/resolv.conf (Neutron's).
    Opt("dnsmasq_local_resolv", "DEFAULT", "dnsmasq_local_resolv", parse_bool, False),
    # The domain dnsmasq answers for; dhcp_domain is Neutron's older name of the same key.
    Opt("dns_domain", "DEFAULT", "dns_domain", parse_dns_domain, DEFAULT_DOMAIN,
        (("DEFAULT", "dhcp_domain"),)),
    Opt("num_sync_threads", "DEFAULT", "num_sync_threads", int_in(1, 256), 8),
    Opt("resync_interval", "DEFAULT", "resync_interval", int_in(1), 60),
    Opt("namespace_prefix", "DEFAULT", "namespace_prefix", parse_str, "qdhcp-"),
    Opt("kill_dnsmasq_on_exit", "DEFAULT", "kill_dnsmasq_on_exit", parse_bool, False),
    # Seconds a network's dnsmasq keeps answering, its offers delayed, after the network
    # left this agent (docs/operations.md, "Handing a network over"); 0: stop at once.
    Opt("dhcp_handover_grace", "DEFAULT", "dhcp_handover_grace", int_in(0, 60), 5),
    Opt("dnsmasq_path", "DEFAULT", "dnsmasq_path", parse_str, "dnsmasq"),
    # Issue 11 item 6: the dnsmasq options Neutron operators set (docs/dhcp-options.md);
    # dnsmasq_dns_servers and dnsmasq_local_resolv (above) are DNS forwarding (docs/dns.md).
    Opt("dnsmasq_lease_max", "DEFAULT", "dnsmasq_lease_max", int_in(1, MAX_LEASES),
        MAX_LEASES),
    Opt("dhcp_renewal_time", "DEFAULT", "dhcp_renewal_time", int_in(0), 0),
    Opt("dhcp_rebinding_time", "DEFAULT", "dhcp_rebinding_time", int_in(0), 0),
    Opt("dnsmasq_config_file", "DEFAULT", "dnsmasq_config_file", parse_str, ""),
    Opt("dhcp_broadcast_reply", "DEFAULT", "dhcp_broadcast_reply", parse_bool, False),
)

L2_AGENT_OPTS: tuple[Opt, ...] = COMMON_OPTS + _AGENT_OPTS + (
    Opt("polling_interval", "agent", "polling_interval", int_in(1), 2,
        (("AGENT", "polling_interval"),)),
    Opt("resync_interval", "DEFAULT", "resync_interval", int_in(1), 60),
    Opt("physical_interface_mappings", "linux_bridge", "physical_interface_mappings",
        parse_mappings, {}, (("LINUX_BRIDGE", "physical_interface_mappings"),)),
    Opt("enable_vxlan", "vxlan", "enable_vxlan", parse_bool, False,
        (("VXLAN", "enable_vxlan"),)),
    Opt("local_ip", "vxlan", "local_ip", parse_optional_ip, None, (("VXLAN", "local_ip"),)),
    # Empty means unicast: flood to the other agents' tunnel endpoints instead.
    Opt("vxlan_group", "vxlan", "vxlan_group", parse_optional_ip, "224.0.0.1",
        (("VXLAN", "vxlan_group"),)),
    Opt("l2_population", "vxlan", "l2_population", parse_bool, False,
        (("VXLAN", "l2_population"),)),
    Opt("vxlan_udp_port", "vxlan", "udp_dstport", int_in(1, 65535), 4789),
    Opt("vxlan_ttl", "vxlan", "ttl", int_in(1, 255), None),
)


@dataclass(frozen=True)
class ServerAccess:
    """Where the agent finds the server, parsed from an http(s) transport_url."""

    url: str  # scheme://host:port/ without credentials
    username: str
    password: str
    # Project to scope the token to: `?project=service` on the URL, else admin.
    project: str = "admin"


@dataclass(frozen=True)
class DhcpAgentSettings:
    host: str
    state_path: str
    debug: bool
    server: ServerAccess
    report_interval: int
    availability_zone: str
    interface_driver: str
    dhcp_driver: str
    dhcp_confs: str
    dhcp_lease_duration: int
    dnsmasq_dns_servers: list[str]
    num_sync_threads: int
    resync_interval: int
    namespace_prefix: str
    kill_dnsmasq_on_exit: bool
    dnsmasq_path: str
    dnsmasq_local_resolv: bool = False
    dns_domain: str = DEFAULT_DOMAIN

    # What make_agent_client builds the client from (http:// or rabbit://).
    transport_url: str = ""
    control_exchange: str = "neutron"
    # How to verify the server (https://) or the broker (rabbit:// with ssl = True).
    transport_tls: ClientTls | None = None
    dnsmasq_lease_max: int = MAX_LEASES
    dhcp_renewal_time: int = 0
    dhcp_rebinding_time: int = 0
    dnsmasq_config_file: str = ""
    dhcp_broadcast_reply: bool = False
    log: LogOptions = LogOptions()
    metrics_port: int = 0  # 0: no metrics listener
    metrics_host: str = "0.0.0.0"
    # 0 here (settings built in code: tests) tears a network down at once; configuration
    # files get the option's default above.
    dhcp_handover_grace: int = 0

    def dnsmasq_options(self) -> DnsmasqOptions:
        """The part of these settings that goes on every dnsmasq command line."""
        return DnsmasqOptions(lease_max=self.dnsmasq_lease_max,
                              renewal_time=self.dhcp_renewal_time,
                              rebinding_time=self.dhcp_rebinding_time,
                              config_file=self.dnsmasq_config_file,
                              broadcast_reply=self.dhcp_broadcast_reply)

    def replace(self, **changes: Any) -> DhcpAgentSettings:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class L2AgentSettings:
    host: str
    state_path: str
    debug: bool
    server: ServerAccess
    report_interval: int
    availability_zone: str
    polling_interval: int
    resync_interval: int
    physical_interface_mappings: dict[str, str]
    enable_vxlan: bool
    local_ip: str | None
    vxlan_group: str | None
    l2_population: bool
    vxlan_udp_port: int
    vxlan_ttl: int | None

    # What make_agent_client builds the client from (http:// or rabbit://).
    transport_url: str = ""
    control_exchange: str = "neutron"
    # How to verify the server (https://) or the broker (rabbit:// with ssl = True).
    transport_tls: ClientTls | None = None
    log: LogOptions = LogOptions()
    metrics_port: int = 0  # 0: no metrics listener
    metrics_host: str = "0.0.0.0"

    def replace(self, **changes: Any) -> L2AgentSettings:
        return dataclasses.replace(self, **changes)


def server_access(transport_url: str) -> ServerAccess:
    """Split `http://USER:PASS@HOST:PORT/` (or a rabbit:// URL) into a credential-free URL
    and the credentials."""
    hint = ("set transport_url = http://USER:PASSWORD@SERVER:9696/ (or "
            "rabbit://USER:PASSWORD@BROKER:5672/, or rabbit_host) in [DEFAULT]")
    if not transport_url:
        raise ConfigError(f"No server configured: {hint}.")
    try:
        url = parse_transport_url(transport_url)
        if url.is_rabbit:
            # The broker authenticates the agent; the server's identity service is not used.
            broker = parse_rabbit_url(transport_url)
            return ServerAccess(url=broker.redacted(), username=broker.userid,
                                password=broker.password)
    except TransportUrlError as exc:  # not http(s):// or rabbit://, no host, a bad port…
        raise ConfigError(f"[DEFAULT] {exc}: {hint}.") from None
    server = url.first
    if len(url.endpoints) > 1 or not server.username or server.password is None:
        raise ConfigError(f"[DEFAULT] transport_url must carry user, password and host "
                          f"of one server: {hint}.")
    return ServerAccess(url=f"{url.base_url()}/", username=server.username,
                        password=server.password, project=url.query_value("project", "admin"))


def transport_tls(values: dict[str, Any]) -> ClientTls | None:
    """TLS of the agent's transport: [DEFAULT] transport_* files for https://,
    [oslo_messaging_rabbit] ssl* for rabbit://; ConfigError when a file is unusable."""
    # _common() has checked the URL (server_access) before it asks for its TLS.
    url = parse_transport_url(values["transport_url"])
    if url.is_rabbit:
        return rabbit_tls(values)
    tls = ClientTls(ca_file=values["transport_ca_file"] or None,
                    cert_file=values["transport_cert_file"] or None,
                    key_file=values["transport_key_file"] or None)
    if url.scheme != "https":
        if tls.ca_file or tls.cert_file or tls.key_file:
            LOG.warning("[DEFAULT] transport_ca_file/cert_file/key_file are set but "
                        "transport_url is %s://, without TLS: they are not used", url.scheme)
        return None
    try:
        return tls.check()
    except TlsFileError as exc:
        raise ConfigError(f"[DEFAULT] transport_ca_file/transport_cert_file/"
                          f"transport_key_file: {exc}.") from None


def _common(values: dict[str, Any]) -> None:
    values["host"] = values["host"] or socket.gethostname()
    values["state_path"] = values["state_path"] or default_state_path()
    values["transport_url"] = effective_transport_url(values)
    values["server"] = server_access(values["transport_url"])
    values["transport_tls"] = transport_tls(values)
    values["log"] = log_options(values)
    if values["report_interval"] > REPORT_INTERVAL_WARN_ABOVE:
        LOG.warning(
            "[agent] report_interval = %s s: the server declares an agent dead after "
            "agent_down_time (typically %s s, the seed uses %s s); keep report_interval "
            "well below it, at most half.", values["report_interval"],
            TYPICAL_AGENT_DOWN_TIME, SEED_AGENT_DOWN_TIME)


def _build(cls: type, values: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def check_dnsmasq_options(values: dict[str, Any]) -> None:
    """Refuse agent options every dnsmasq would trip over, before any starts."""
    renewal, rebinding = values["dhcp_renewal_time"], values["dhcp_rebinding_time"]
    if renewal and rebinding and renewal >= rebinding:
        # RFC 2131 4.4.5: a client renews (T1) before it rebinds (T2).
        raise ConfigError(f"[DEFAULT] dhcp_renewal_time = {renewal} must be less than "
                          f"dhcp_rebinding_time = {rebinding}.")
    lease = values["dhcp_lease_duration"]
    for key in ("dhcp_renewal_time", "dhcp_rebinding_time"):
        if lease > 0 and values[key] >= lease:
            raise ConfigError(f"[DEFAULT] {key} = {values[key]} must be less than "
                              f"dhcp_lease_duration = {lease}.")
    conf = values["dnsmasq_config_file"]
    if conf and not os.path.isfile(conf):
        # dnsmasq would refuse to start for every network.
        raise ConfigError(f"[DEFAULT] dnsmasq_config_file = {conf} is not a readable file.")


def load_dhcp_agent_settings(paths: Sequence[str], overrides: dict[str, Any] | None = None
                             ) -> DhcpAgentSettings:
    """Read the DHCP agent's INI files; raises ConfigError naming what is wrong."""
    files = IniFiles.read(paths)
    values = load_options(DHCP_AGENT_OPTS, files)
    report_unused(files, DHCP_AGENT_OPTS, "neutrino-dhcp-agent")
    values.update(overrides or {})
    _common(values)
    values["dhcp_confs"] = values["dhcp_confs"] or os.path.join(values["state_path"], "dhcp")
    check_dnsmasq_options(values)
    settings: DhcpAgentSettings = _build(DhcpAgentSettings, values)
    return settings


def load_l2_agent_settings(paths: Sequence[str], overrides: dict[str, Any] | None = None
                           ) -> L2AgentSettings:
    """Read the Linux bridge agent's INI files; raises ConfigError naming what is wrong."""
    files = IniFiles.read(paths)
    values = load_options(L2_AGENT_OPTS, files)
    report_unused(files, L2_AGENT_OPTS, "neutrino-linuxbridge-agent")
    values.update(overrides or {})
    _common(values)
    if values["enable_vxlan"] and not values["local_ip"]:
        raise ConfigError("[vxlan] enable_vxlan = True needs [vxlan] local_ip, the address "
                          "of this host's tunnel endpoint.")
    for physnet, iface in values["physical_interface_mappings"].items():
        if len(iface) > 10:
            # <iface>.<vlan> must fit the kernel's 15-character link names.
            raise ConfigError(
                f"[linux_bridge] physical_interface_mappings: interface {iface!r} of "
                f"{physnet} is longer than 10 characters; VLAN subinterfaces "
                f"<interface>.<vlan> would exceed the 15-character link name limit.")
    if values["local_ip"]:
        parse_ip(values["local_ip"])
    settings: L2AgentSettings = _build(L2AgentSettings, values)
    return settings
