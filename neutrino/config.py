"""INI files with Neutron's key names -> typed, validated settings.

Several files may be given (`--config-file a --config-file b`); a later file wins. Keys that
Neutrino does not use are reported once and ignored, so the seed's files work unchanged.
"""
from __future__ import annotations

import configparser
import dataclasses
import logging
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neutrino import addresses, dns_names
from neutrino.logs import DEFAULT_FACILITY, LogOptions, parse_facility
from neutrino.tls import ClientTls, TlsFileError, check_server_files, parse_tls_version
from neutrino.transport import urls

LOG = logging.getLogger(__name__)


class ConfigError(Exception):
    """A config value is invalid; the message names file, section, key and what is allowed."""


@dataclass
class IniFiles:
    """The merged content of several INI files, remembering where each value came from."""

    values: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, paths: Sequence[str]) -> IniFiles:
        files = cls()
        for path in paths:
            if not os.path.isfile(path):
                raise ConfigError(f"Config file {path} does not exist or is not a file.")
            parser = configparser.RawConfigParser(
                strict=False, default_section="\x00none", inline_comment_prefixes=None
            )
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            try:
                with open(path, encoding="utf-8") as f:
                    parser.read_file(f)
            except configparser.Error as exc:
                raise ConfigError(f"{path}: cannot parse INI file: {exc}") from exc
            for section in parser.sections():
                for key, value in parser.items(section, raw=True):
                    files.values[(section, key)] = (value.strip(), path)
        return files

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, Any]], origin: str = "<defaults>") -> IniFiles:
        files = cls()
        for section, keys in data.items():
            for key, value in keys.items():
                files.values[(section, key)] = (str(value), origin)
        return files

    def get(self, section: str, key: str) -> tuple[str, str] | None:
        return self.values.get((section, key))


# ---- value parsers: each takes the raw text and returns the value or raises ValueError -----

def parse_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise ValueError("a boolean (True or False)")


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(_range_text(low, high)) from None
        if value < low or (high is not None and value > high):
            raise ValueError(_range_text(low, high))
        return value

    return parse


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An empty value means "not set" (None), as oslo.config reads `key =`."""
    def parse_or_none(raw: str) -> Any:
        return None if not raw.strip() else parse(raw)

    return parse_or_none


def _range_text(low: int, high: int | None) -> str:
    return f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"


def one_of(*choices: str, aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if aliases and value in aliases:
            return aliases[value]
        if value.lower() in choices:
            return value.lower()
        raise ValueError("one of " + ", ".join(choices))

    return parse


def parse_str(raw: str) -> str:
    return raw.strip()


def parse_dns_domain(raw: str) -> str:
    try:
        return dns_names.check_domain(raw.strip())
    except dns_names.BadDnsName as exc:
        raise ValueError(f"a domain name such as example.org ({exc})") from None


def parse_list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_mac(raw: str) -> str:
    try:
        return addresses.parse_mac(raw.strip())
    except addresses.AddressSyntaxError:
        raise ValueError("a MAC address such as fa:16:3e:00:00:00") from None


def parse_ip(raw: str) -> str:
    try:
        return str(addresses.parse_ip(raw.strip()))
    except addresses.AddressSyntaxError:
        raise ValueError("an IP address") from None


def parse_optional_ip(raw: str) -> str | None:
    return parse_ip(raw) if raw.strip() else None


def parse_listen_address(raw: str) -> tuple[str, int] | None:
    """`host:port` (`[v6]:port` for IPv6) to listen on; empty: do not listen."""
    text = raw.strip()
    if not text:
        return None
    host, _, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    try:
        if ":" in host and not bracketed:  # ::1:9697 could be an address without a port
            raise ValueError("an IPv6 address goes in brackets")
        return parse_ip(host), int_in(1, 65535)(port)
    except ValueError:
        raise ValueError("host:port such as 127.0.0.1:9697 or [::1]:9697 (an IP address "
                         "and a port from 1 to 65535), or nothing to turn it off") from None


@dataclass(frozen=True)
class VlanRange:
    physical_network: str
    low: int | None = None  # None: the physnet takes only admin-chosen segments
    high: int | None = None


def parse_vlan_ranges(raw: str) -> list[VlanRange]:
    ranges = []
    for item in parse_list(raw):
        parts = item.split(":")
        if len(parts) == 1 and parts[0]:
            ranges.append(VlanRange(parts[0]))
            continue
        if len(parts) != 3:
            raise ValueError("a list of <physical_network>[:<vlan_min>:<vlan_max>]")
        try:
            low, high = int(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError("a list of <physical_network>[:<vlan_min>:<vlan_max>]") from None
        if not (1 <= low <= high <= 4094):
            raise ValueError("VLAN ranges with 1 <= vlan_min <= vlan_max <= 4094")
        ranges.append(VlanRange(parts[0], low, high))
    return ranges


def parse_vni_ranges(raw: str) -> list[tuple[int, int]]:
    ranges = []
    for item in parse_list(raw):
        parts = item.split(":")
        try:
            low, high = int(parts[0]), int(parts[-1])
        except ValueError:
            raise ValueError("a list of <vni_min>:<vni_max>") from None
        if len(parts) > 2 or not (1 <= low <= high <= 16777215):
            raise ValueError("a list of <vni_min>:<vni_max> with 1 <= min <= max <= 16777215")
        ranges.append((low, high))
    return ranges


def parse_mappings(raw: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in parse_list(raw):
        key, sep, value = item.partition(":")
        if not sep or not key or not value:
            raise ValueError("a list of <physical_network>:<interface>")
        mapping[key.strip()] = value.strip()
    return mapping


def parse_db_url(raw: str) -> str:
    """Accept Neutron's URLs; `mysql://` means MySQL through the pure-Python PyMySQL driver."""
    url = raw.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("a database URL such as sqlite:////var/lib/neutrino/neutrino.db, "
                         "mysql://user:pass@host/db or postgresql://user@host/db")
    base = scheme.split("+")[0]
    if base == "mysql" and "+" not in scheme:
        scheme = "mysql+pymysql"
    elif base == "postgres":
        scheme = "postgresql"
    elif base not in ("mysql", "mariadb", "postgresql", "sqlite"):
        raise ValueError("a database URL of sqlite, mysql or postgresql")
    if base == "mariadb" and "+" not in scheme:
        scheme = "mariadb+pymysql"
    return f"{scheme}://{rest}"


def parse_transport_url(raw: str) -> str:
    """The option's text, checked by the one transport_url parser; "" means not set."""
    url = raw.strip()
    if url:
        try:
            urls.parse_transport_url(url)
        except urls.TransportUrlError as exc:
            raise ValueError(f"{urls.ACCEPTED}, such as {urls.EXAMPLES} ({exc.problem})"
                             ) from None
    return url


SCHEDULER_ALIASES = {
    "neutron.scheduler.dhcp_agent_scheduler.ChanceScheduler": "chance",
    "neutron.scheduler.dhcp_agent_scheduler.WeightScheduler": "least_loaded",
    "neutron.scheduler.dhcp_agent_scheduler.AZAwareWeightScheduler": "least_loaded",
}


@dataclass(frozen=True)
class Opt:
    """One config option: where it lives, how it parses, and what it defaults to."""

    name: str
    section: str
    key: str
    parse: Callable[[str], Any]
    default: Any
    aliases: tuple[tuple[str, str], ...] = ()


def load_options(opts: Iterable[Opt], files: IniFiles) -> dict[str, Any]:
    """Parse every option from `files` (first of key, then aliases), falling back to defaults."""
    values: dict[str, Any] = {}
    for opt in opts:
        found = None
        for section, key in ((opt.section, opt.key), *opt.aliases):
            found = files.get(section, key)
            if found is not None:
                break
        if found is None:
            values[opt.name] = opt.default
            continue
        raw, origin = found
        try:
            values[opt.name] = opt.parse(raw)
        except ValueError as exc:
            raise ConfigError(
                f"{origin}: [{section}] {key} = {raw!r} is invalid: expected {exc}."
            ) from None
    return values


def report_unused(files: IniFiles, opts: Iterable[Opt], process: str) -> list[str]:
    """Log, once, every key this process does not use; returns them for tests."""
    used = set()
    for opt in opts:
        used.add((opt.section, opt.key))
        used.update(opt.aliases)
    unused = sorted(
        f"[{section}] {key} ({origin})"
        for (section, key), (_, origin) in files.values.items()
        if (section, key) not in used
    )
    if unused:
        LOG.info("%s ignores config keys it does not use: %s", process, ", ".join(unused))
    return unused


# ---- option sets ---------------------------------------------------------------------------

def _default_host() -> str:
    return socket.gethostname()


COMMON_OPTS: tuple[Opt, ...] = (
    Opt("host", "DEFAULT", "host", parse_str, None),
    Opt("state_path", "DEFAULT", "state_path", parse_str, None),
    Opt("debug", "DEFAULT", "debug", parse_bool, False),
    # Where logs go: oslo.log's keys and defaults (docs/operations.md, "Logging").
    Opt("log_file", "DEFAULT", "log_file", parse_str, ""),
    Opt("log_dir", "DEFAULT", "log_dir", parse_str, ""),
    Opt("use_syslog", "DEFAULT", "use_syslog", parse_bool, False),
    Opt("syslog_log_facility", "DEFAULT", "syslog_log_facility", parse_facility,
        DEFAULT_FACILITY),
    Opt("transport_url", "DEFAULT", "transport_url", parse_transport_url, ""),
    Opt("rabbit_host", "DEFAULT", "rabbit_host", parse_str, None,
        (("oslo_messaging_rabbit", "rabbit_host"),)),
    Opt("rabbit_port", "DEFAULT", "rabbit_port", int_in(1, 65535), 5672,
        (("oslo_messaging_rabbit", "rabbit_port"),)),
    Opt("rabbit_userid", "DEFAULT", "rabbit_userid", parse_str, "guest",
        (("oslo_messaging_rabbit", "rabbit_userid"),)),
    Opt("rabbit_password", "DEFAULT", "rabbit_password", parse_str, "guest",
        (("oslo_messaging_rabbit", "rabbit_password"),)),
    Opt("rabbit_virtual_host", "DEFAULT", "rabbit_virtual_host", parse_str, "/",
        (("oslo_messaging_rabbit", "rabbit_virtual_host"),)),
    # RabbitMQ driver: prefix of every exchange and queue name (Neutron's key and default).
    Opt("control_exchange", "DEFAULT", "control_exchange", parse_str, "neutron"),
    # RabbitMQ over TLS: oslo.messaging's keys, then their older names.
    Opt("rabbit_ssl", "oslo_messaging_rabbit", "ssl", parse_bool, False,
        (("oslo_messaging_rabbit", "rabbit_use_ssl"), ("DEFAULT", "rabbit_use_ssl"))),
    Opt("rabbit_ssl_ca_file", "oslo_messaging_rabbit", "ssl_ca_file", parse_str, "",
        (("oslo_messaging_rabbit", "kombu_ssl_ca_certs"), ("DEFAULT", "kombu_ssl_ca_certs"))),
    Opt("rabbit_ssl_cert_file", "oslo_messaging_rabbit", "ssl_cert_file", parse_str, "",
        (("oslo_messaging_rabbit", "kombu_ssl_certfile"), ("DEFAULT", "kombu_ssl_certfile"))),
    Opt("rabbit_ssl_key_file", "oslo_messaging_rabbit", "ssl_key_file", parse_str, "",
        (("oslo_messaging_rabbit", "kombu_ssl_keyfile"), ("DEFAULT", "kombu_ssl_keyfile"))),
    Opt("rabbit_ssl_version", "oslo_messaging_rabbit", "ssl_version", parse_tls_version, "",
        (("oslo_messaging_rabbit", "kombu_ssl_version"), ("DEFAULT", "kombu_ssl_version"))),
)

SERVER_OPTS: tuple[Opt, ...] = COMMON_OPTS + (
    Opt("bind_host", "DEFAULT", "bind_host", parse_ip, "0.0.0.0"),
    Opt("bind_port", "DEFAULT", "bind_port", int_in(1, 65535), 9696),
    Opt("api_workers", "DEFAULT", "api_workers", int_in(1, 64), 1),
    Opt("agent_down_time", "DEFAULT", "agent_down_time", int_in(1), 75),
    Opt("dhcp_agents_per_network", "DEFAULT", "dhcp_agents_per_network", int_in(1), 1),
    Opt("network_scheduler_driver", "DEFAULT", "network_scheduler_driver",
        one_of("least_loaded", "chance", aliases=SCHEDULER_ALIASES), "least_loaded"),
    Opt("dhcp_load_type", "DEFAULT", "dhcp_load_type", one_of("networks", "subnets", "ports"),
        "networks"),
    Opt("network_auto_schedule", "DEFAULT", "network_auto_schedule", parse_bool, True),
    # Zones a network without availability_zone_hints is scheduled in (Neutron's key).
    Opt("default_availability_zones", "DEFAULT", "default_availability_zones", parse_list,
        []),
    Opt("allow_automatic_dhcp_failover", "DEFAULT", "allow_automatic_dhcp_failover",
        parse_bool, True),
    Opt("dhcp_failover_grace", "DEFAULT", "dhcp_failover_grace", int_in(0), 0),
    # Seconds a move's target may stay alive but not ready (scheduler/moves.py timed_out)
    # before the move is reported stuck and retried on another agent if one can take it;
    # the source serves meanwhile (docs/operations.md, "Stuck moves"). 0: no limit.
    Opt("dhcp_move_timeout", "DEFAULT", "dhcp_move_timeout", int_in(0), 300),
    # Rebalance DHCP networks by itself when a DHCP agent registers or comes back
    # (services/rebalance.py; docs/operations.md, "Rebalance"). Off, as Neutron has none.
    Opt("dhcp_rebalance_on_agent_join", "DEFAULT", "dhcp_rebalance_on_agent_join",
        parse_bool, False),
    # Choose only DHCP agents whose host's L2 agent reaches the segment (scheduler/reach.py):
    # auto = when any L2 agent is registered; true = always (Neutron); false = never.
    Opt("dhcp_schedule_require_l2_reach", "DEFAULT", "dhcp_schedule_require_l2_reach",
        one_of("auto", "true", "false"), "auto"),
    # A manual dhcp-agent-network-add to an agent that cannot reach the segment: refused
    # (409) unless this is True, then done with a warning in the server log.
    Opt("dhcp_force_unreachable_add", "DEFAULT", "dhcp_force_unreachable_add", parse_bool,
        False),
    Opt("enable_new_agents", "DEFAULT", "enable_new_agents", parse_bool, True),
    Opt("allow_overlapping_ips", "DEFAULT", "allow_overlapping_ips", parse_bool, False),
    Opt("base_mac", "DEFAULT", "base_mac", parse_mac, "fa:16:3e:00:00:00"),
    Opt("dhcp_lease_duration", "DEFAULT", "dhcp_lease_duration", int_in(-1), 86400),
    # Seconds a freed address is kept from new ports while a hosting DHCP agent has not
    # confirmed dropping the old lease (docs/operations.md, "Address reuse"); unset: the
    # lease time, which bounds how long a client that heard nothing may keep the address.
    Opt("ip_reuse_quarantine", "DEFAULT", "ip_reuse_quarantine", int_in(0), None),
    Opt("global_physnet_mtu", "DEFAULT", "global_physnet_mtu", int_in(68, 65535), 1500),
    # dns-integration: the domain of ports' dns_assignment (Neutron's key and default).
    Opt("dns_domain", "DEFAULT", "dns_domain", parse_dns_domain, dns_names.DEFAULT_DOMAIN),
    Opt("auth_strategy", "DEFAULT", "auth_strategy", one_of("keystone", "noauth"), "keystone"),
    Opt("event_log_size", "DEFAULT", "event_log_size", int_in(100), 100000),
    # The agent history (docs/operations.md, "Event history"): entries older than this many
    # days, and beyond the newest max_rows, are deleted once a minute; 0 turns a bound off.
    Opt("event_history_retention_days", "DEFAULT", "event_history_retention_days",
        int_in(0, 36500), 30),
    Opt("event_history_max_rows", "DEFAULT", "event_history_max_rows", int_in(0), 1000000),
    # A second listener serving only /metrics, without a token, for Prometheus (docs/
    # metrics.md); off by default, when /metrics on the API port needs an admin token.
    Opt("metrics_bind", "DEFAULT", "metrics_bind", parse_listen_address, None),
    Opt("db_connection", "database", "connection", parse_db_url, None),
    # As in oslo.db: retry_interval/max_retries govern connecting at start-up (-1: forever),
    # db_max_retries the retries of a transaction that hit a deadlock or a lost connection.
    Opt("db_retry_interval", "database", "retry_interval", int_in(0), 10),
    Opt("db_max_retries", "database", "max_retries", int_in(-1), 10),
    Opt("db_transaction_retries", "database", "db_max_retries", int_in(0, 100), 20),
    Opt("tenant_network_types", "ml2", "tenant_network_types", parse_list, None,
        (("vlans", "tenant_network_type"),)),
    Opt("network_vlan_ranges", "ml2_type_vlan", "network_vlan_ranges", parse_vlan_ranges, [],
        (("vlans", "network_vlan_ranges"),)),
    Opt("vni_ranges", "ml2_type_vxlan", "vni_ranges", parse_vni_ranges, [],),
    Opt("flat_networks", "ml2_type_flat", "flat_networks", parse_list, ["*"]),
    Opt("token_expiration", "token", "expiration", int_in(60), 3600),
    # HTTPS for the API and the agent endpoints: Neutron's (oslo.service's) keys, then the
    # older [DEFAULT] ssl_* names. A CA file makes the server require client certificates.
    Opt("use_ssl", "DEFAULT", "use_ssl", parse_bool, False),
    Opt("ssl_cert_file", "ssl", "cert_file", parse_str, "", (("DEFAULT", "ssl_cert_file"),)),
    Opt("ssl_key_file", "ssl", "key_file", parse_str, "", (("DEFAULT", "ssl_key_file"),)),
    Opt("ssl_ca_file", "ssl", "ca_file", parse_str, "", (("DEFAULT", "ssl_ca_file"),)),
    # How stale a replica's copy of the revocation events may be (Keystone's key; there an
    # hour of dogpile caching, here the bound on "revoked on every replica").
    Opt("revocation_cache_time", "revoke", "cache_time", int_in(0, 3600), 1),
    Opt("lockout_failure_attempts", "security_compliance", "lockout_failure_attempts",
        optional(int_in(1)), None),
    Opt("lockout_duration", "security_compliance", "lockout_duration", optional(int_in(1)),
        1800),
    # ---- request limits (docs/operations.md, "Request limits") ----
    # oslo.middleware's sizelimit key and default, as in neutron.conf.
    Opt("max_request_body_size", "oslo_middleware", "max_request_body_size", int_in(1024),
        114688, (("DEFAULT", "max_request_body_size"),)),
    # Neutron's (oslo.service wsgi) keys and meaning; client_socket_timeout defaults to 75 s
    # here, not 900, and as in Neutron 0 means an idle connection is never closed.
    Opt("max_header_line", "DEFAULT", "max_header_line", int_in(1024, 1 << 20), 16384),
    Opt("client_socket_timeout", "DEFAULT", "client_socket_timeout", int_in(0), 75),
    Opt("backlog", "DEFAULT", "backlog", int_in(1), 4096),
    # Neutrino's own: eventlet had no such limits, uvicorn needs them said.
    Opt("client_header_timeout", "DEFAULT", "client_header_timeout", int_in(1), 30),
    Opt("client_body_timeout", "DEFAULT", "client_body_timeout", int_in(1), 60),
    Opt("max_connections", "DEFAULT", "max_connections", int_in(1), 2048),
)

@dataclass(frozen=True)
class ServerSettings:
    host: str
    state_path: str
    debug: bool
    transport_url: str
    bind_host: str
    bind_port: int
    api_workers: int
    agent_down_time: int
    dhcp_agents_per_network: int
    network_scheduler_driver: str
    dhcp_load_type: str
    network_auto_schedule: bool
    allow_automatic_dhcp_failover: bool
    dhcp_failover_grace: int
    dhcp_schedule_require_l2_reach: str
    dhcp_force_unreachable_add: bool
    enable_new_agents: bool
    allow_overlapping_ips: bool
    base_mac: str
    dhcp_lease_duration: int
    global_physnet_mtu: int
    auth_strategy: str
    event_log_size: int
    db_connection: str
    db_retry_interval: int
    db_max_retries: int
    db_transaction_retries: int
    tenant_network_types: list[str]
    network_vlan_ranges: list[VlanRange]
    vni_ranges: list[tuple[int, int]]
    flat_networks: list[str]
    token_expiration: int
    control_exchange: str = "neutron"
    use_ssl: bool = False
    ssl_cert_file: str = ""
    ssl_key_file: str = ""
    ssl_ca_file: str = ""
    rabbit_tls: ClientTls | None = None
    revocation_cache_time: int = 1
    lockout_failure_attempts: int | None = None
    lockout_duration: int | None = 1800
    ip_reuse_quarantine: int = 86400
    event_history_retention_days: int = 30
    event_history_max_rows: int = 1000000
    # Request limits (docs/operations.md, "Request limits").
    max_request_body_size: int = 114688
    max_header_line: int = 16384
    client_socket_timeout: int = 75
    backlog: int = 4096
    client_header_timeout: int = 30
    client_body_timeout: int = 60
    max_connections: int = 2048
    dns_domain: str = dns_names.DEFAULT_DOMAIN
    dhcp_rebalance_on_agent_join: bool = False
    dhcp_move_timeout: int = 300
    log: LogOptions = LogOptions()
    default_availability_zones: list[str] = field(default_factory=list)
    metrics_bind: tuple[str, int] | None = None

    def replace(self, **changes: Any) -> ServerSettings:
        return dataclasses.replace(self, **changes)


def default_state_path() -> str:
    return os.environ.get("NEUTRINO_STATE_PATH") or (
        "/var/lib/neutrino" if os.geteuid() == 0 else os.path.expanduser("~/.local/state/neutrino")
    )


def log_options(values: dict[str, Any]) -> LogOptions:
    """The [DEFAULT] logging keys of any process, as neutrino.logs takes them."""
    return LogOptions(debug=values["debug"], log_file=values["log_file"],
                      log_dir=values["log_dir"], use_syslog=values["use_syslog"],
                      syslog_log_facility=values["syslog_log_facility"])


def effective_transport_url(values: dict[str, Any]) -> str:
    """`transport_url` wins; otherwise the seed's legacy rabbit_* keys; otherwise HTTP."""
    if values["transport_url"]:
        return str(values["transport_url"])
    if values.get("rabbit_host"):
        return (f"rabbit://{values['rabbit_userid']}:{values['rabbit_password']}@"
                f"{values['rabbit_host']}:{values['rabbit_port']}/"
                f"{values['rabbit_virtual_host'].lstrip('/')}")
    return ""


def rabbit_tls(values: dict[str, Any]) -> ClientTls | None:
    """The broker's TLS from [oslo_messaging_rabbit] ssl*; None when ssl is off."""
    tls = ClientTls(ca_file=values["rabbit_ssl_ca_file"] or None,
                    cert_file=values["rabbit_ssl_cert_file"] or None,
                    key_file=values["rabbit_ssl_key_file"] or None,
                    version=values["rabbit_ssl_version"])
    if not values["rabbit_ssl"]:
        if tls.ca_file or tls.cert_file or tls.key_file:
            LOG.warning("[oslo_messaging_rabbit] ssl_* files are set but ssl is False: "
                        "connecting to RabbitMQ without TLS")
        return None
    try:
        return tls.check()
    except TlsFileError as exc:
        raise ConfigError(f"[oslo_messaging_rabbit] ssl = True: {exc}.") from None


def check_server_tls(values: dict[str, Any]) -> None:
    """use_ssl needs a certificate and key that load; ConfigError naming the file if not."""
    if not values["use_ssl"]:
        if values["ssl_cert_file"]:
            LOG.warning("[ssl] cert_file is set but [DEFAULT] use_ssl is False: serving "
                        "plain HTTP")
        return
    if not (values["ssl_cert_file"] and values["ssl_key_file"]):
        raise ConfigError("[DEFAULT] use_ssl = True needs both [ssl] cert_file and "
                          "[ssl] key_file (the server's certificate and private key, PEM).")
    try:
        check_server_files(values["ssl_cert_file"], values["ssl_key_file"],
                           values["ssl_ca_file"] or None)
    except TlsFileError as exc:
        raise ConfigError(f"[ssl]: {exc}.") from None


def load_server_settings(paths: Sequence[str], overrides: dict[str, Any] | None = None
                         ) -> ServerSettings:
    files = IniFiles.read(paths)
    values = load_options(SERVER_OPTS, files)
    report_unused(files, SERVER_OPTS, "neutrino-server")
    values.update(overrides or {})
    values["host"] = values["host"] or _default_host()
    values["state_path"] = values["state_path"] or default_state_path()
    values["transport_url"] = effective_transport_url(values)
    values["log"] = log_options(values)
    values["rabbit_tls"] = rabbit_tls(values)
    check_server_tls(values)
    if values["ip_reuse_quarantine"] is None:
        # An infinite lease (-1) bounds nothing; fall back to Neutron's default lease time.
        lease = values["dhcp_lease_duration"]
        values["ip_reuse_quarantine"] = lease if lease > 0 else 86400
    if not values["db_connection"]:
        values["db_connection"] = "sqlite:///" + os.path.join(values["state_path"], "neutrino.db")
    if not values["tenant_network_types"]:
        values["tenant_network_types"] = ["vxlan"] if values["vni_ranges"] else (
            ["vlan"] if values["network_vlan_ranges"] else ["local"])
    for tenant_type in values["tenant_network_types"]:
        if tenant_type not in ("vlan", "vxlan", "flat", "local"):
            raise ConfigError(
                f"[ml2] tenant_network_types (or [vlans] tenant_network_type) = "
                f"{tenant_type!r} is invalid: expected one of vlan, vxlan, flat, local.")
    names = {f.name for f in dataclasses.fields(ServerSettings)}
    return ServerSettings(**{k: v for k, v in values.items() if k in names})
