"""Per-port DHCP options (Neutron's `extra_dhcp_opt` extension): what a name and a value may
be, and how one option reads in dnsmasq's --dhcp-optsfile (pure; server and agent share it).

An option ends up as one line of a file dnsmasq rereads on SIGHUP, beside every other port's
options: a value that breaks out of its line, or one dnsmasq cannot parse, would take other
ports' options with it. So names are dnsmasq's known names or numeric codes, and values are
one printable line.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from neutrino.errors import shown

# Neutron's bounds (neutron-lib extra_dhcp_opt: DHCP_OPT_NAME_MAX_LEN, DHCP_OPT_VALUE_MAX_LEN).
NAME_MAX = 64
VALUE_MAX = 255
MAX_PER_PORT = 64

# `dnsmasq --help dhcp` (2.90): the names dnsmasq knows for DHCPv4 options, with their codes.
DHCPV4_NAMES: dict[str, int] = {
    "netmask": 1, "time-offset": 2, "router": 3, "dns-server": 6, "log-server": 7,
    "lpr-server": 9, "boot-file-size": 13, "domain-name": 15, "swap-server": 16,
    "root-path": 17, "extension-path": 18, "ip-forward-enable": 19,
    "non-local-source-routing": 20, "policy-filter": 21, "max-datagram-reassembly": 22,
    "default-ttl": 23, "mtu": 26, "all-subnets-local": 27, "router-discovery": 31,
    "router-solicitation": 32, "static-route": 33, "trailer-encapsulation": 34,
    "arp-timeout": 35, "ethernet-encap": 36, "tcp-ttl": 37, "tcp-keepalive": 38,
    "nis-domain": 40, "nis-server": 41, "ntp-server": 42, "netbios-ns": 44, "netbios-dd": 45,
    "netbios-nodetype": 46, "netbios-scope": 47, "x-windows-fs": 48, "x-windows-dm": 49,
    "T1": 58, "T2": 59, "vendor-class": 60, "nis+-domain": 64, "nis+-server": 65,
    "tftp-server": 66, "bootfile-name": 67, "mobile-ip-home": 68, "smtp-server": 69,
    "pop3-server": 70, "nntp-server": 71, "irc-server": 74, "user-class": 77,
    "rapid-commit": 80, "client-arch": 93, "client-interface-id": 94,
    "client-machine-id": 97, "posix-timezone": 100, "tzdb-timezone": 101, "ipv6-only": 108,
    "domain-search": 119, "sip-server": 120, "classless-static-route": 121,
    "vendor-id-encap": 125, "tftp-server-address": 150,
    # Not an option on the wire: dnsmasq puts it in the reply's siaddr (next server) field.
    "server-ip-address": 255,
}
# `dnsmasq --help dhcp6` (2.90).
DHCPV6_NAMES: dict[str, int] = {
    "sip-server-domain": 21, "sip-server": 22, "dns-server": 23, "domain-search": 24,
    "nis-server": 27, "nis+-server": 28, "nis-domain": 29, "nis+-domain": 30,
    "sntp-server": 31, "information-refresh-time": 32, "posix-timezone": 41,
    "tzdb-timezone": 42, "ntp-server": 56, "bootfile-url": 59, "bootfile-param": 60,
}
# Neutron stores these with an empty value: "send this option empty", e.g. no router.
BLANK_ALLOWED = frozenset({"router", "classless-static-route", "3", "121"})
# DHCPv4 options whose value dnsmasq parses as IPv4 addresses; one it cannot parse is
# logged and the line dropped, so the API refuses it instead.
_IPV4_LIST_CODES = frozenset({1, 3, 6, 7, 9, 16, 41, 42, 44, 45, 48, 49, 65, 68, 69, 70, 71,
                              74, 150, 255})
# DHCPv6 options whose value dnsmasq parses as IPv6 addresses, each written `[addr]`
# (sip-server, dns-server, nis-server, nis+-server, sntp-server).
_IPV6_LIST_CODES = frozenset({22, 23, 27, 28, 31})
_CODE_RANGE = {4: (1, 254), 6: (1, 65535)}
# An optional extra tag before the option, as Ironic sends for iPXE: `tag:ipxe,67` or
# `tag:!ipxe,bootfile-name` (dnsmasq sets such tags through dhcp-match in
# dnsmasq_config_file).
_TAGGED = re.compile(r"tag:(!?[A-Za-z0-9_.-]{1,32}),(.+)")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


class InvalidDhcpOption(ValueError):
    """An extra_dhcp_opts entry dnsmasq could not take; the message says why."""


@dataclass(frozen=True)
class OptionName:
    """An opt_name taken apart: the extra tag (if any) and the option, by name or code."""

    tag: str | None
    option: str
    code: int

    def dnsmasq_field(self, ip_version: int) -> str:
        """What follows the port's tag in an opts line: `tag:ipxe,option:bootfile-name`."""
        if ip_version == 6:
            # dnsmasq ignores a DHCPv6 option not spelled option6:, by number or name.
            option = f"option6:{self.option}"
        else:
            option = self.option if self.option.isdigit() else f"option:{self.option}"
        return f"tag:{self.tag},{option}" if self.tag else option


def parse_name(opt_name: str, ip_version: int) -> OptionName:
    """Check an opt_name for its IP version; raise InvalidDhcpOption saying what is allowed."""
    if len(opt_name) > NAME_MAX or not opt_name:
        raise InvalidDhcpOption(f"opt_name must be 1 to {NAME_MAX} characters long.")
    tag = None
    option = opt_name
    tagged = _TAGGED.fullmatch(opt_name)
    if tagged:
        tag, option = tagged.group(1), tagged.group(2)
    names = DHCPV6_NAMES if ip_version == 6 else DHCPV4_NAMES
    if option.isdigit() and option.isascii():
        low, high = _CODE_RANGE[ip_version]
        code = int(option)
        if not low <= code <= high:
            raise InvalidDhcpOption(f"DHCPv{ip_version} option code {code} is not in range "
                                    f"{low} through {high}.")
        return OptionName(tag, str(code), code)
    if option in names:
        return OptionName(tag, option, names[option])
    raise InvalidDhcpOption(
        f"{shown(opt_name)!r} is not a DHCPv{ip_version} option dnsmasq knows: use a numeric code, "
        f"or a name from `dnsmasq --help dhcp{'6' if ip_version == 6 else ''}` such as "
        f"{', '.join(sorted(names)[:6])}…, optionally after `tag:<name>,`.")


def check_value(name: OptionName, opt_value: str, ip_version: int) -> str:
    """Check an opt_value for the option; raise InvalidDhcpOption saying why not."""
    if len(opt_value) > VALUE_MAX:
        raise InvalidDhcpOption(f"opt_value exceeds maximum length of {VALUE_MAX}.")
    if not _PRINTABLE.fullmatch(opt_value):
        # A newline would start a line of its own, untagged: an option for every port.
        raise InvalidDhcpOption("opt_value must be printable ASCII on one line (no newline, "
                                "tab or other control characters).")
    if opt_value == "":
        if name.option in BLANK_ALLOWED and ip_version == 4:
            return opt_value
        raise InvalidDhcpOption("opt_value must not be empty (only router and "
                                "classless-static-route may be sent empty).")
    if ip_version == 4 and name.code in _IPV4_LIST_CODES:
        for part in opt_value.split(","):
            try:
                ipaddress.IPv4Address(part.strip())
            except ValueError:
                raise InvalidDhcpOption(
                    f"{name.option} takes IPv4 addresses separated by commas; "
                    f"{shown(part.strip())!r} is not one.") from None
    if ip_version == 6 and name.code in _IPV6_LIST_CODES:
        return ",".join(f"[{_ipv6(name, part)}]" for part in opt_value.split(","))
    return opt_value


def _ipv6(name: OptionName, part: str) -> str:
    """One address of a DHCPv6 address option, given bare or as dnsmasq's `[addr]`."""
    bare = part.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    try:
        return str(ipaddress.IPv6Address(bare))
    except ValueError:
        raise InvalidDhcpOption(f"{name.option} takes IPv6 addresses separated by commas; "
                                f"{shown(part.strip())!r} is not one.") from None


def port_tag(port_id: str) -> str:
    """The dnsmasq tag a port's hosts entry sets and its options match (Neutron's too)."""
    return f"port-{port_id}"


OptionKey = tuple[str, int]  # (opt_name, ip_version): one value each per port


def apply_request(current: dict[OptionKey, str], requested: list[dict[str, object]]
                  ) -> dict[OptionKey, str]:
    """A port's options after a create or update carrying `extra_dhcp_opts` (checked entries).

    Neutron's semantics: entries are merged into what the port has, by (opt_name,
    ip_version); an entry whose opt_value is null deletes that option. Neutron ignores an
    empty list; here it clears every option, the only way to do that in one request.
    """
    if not requested:
        return {}
    result = dict(current)
    for entry in requested:
        key = (str(entry["opt_name"]), int(str(entry.get("ip_version", 4))))
        value = entry.get("opt_value")
        if value is None:
            result.pop(key, None)
        else:
            result[key] = str(value)
    return result
