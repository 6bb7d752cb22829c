"""MAC and IP address values: the one rule for what is one (pure; config, API and IPAM).

Each caller words its own error (a config key, an API attribute, a port's field) around
AddressSyntaxError; what counts as a MAC or an IP address is decided here only.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Six colon-separated pairs of hex digits, either case: the form Neutron accepts and shows.
MAC_PATTERN = r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"
_MAC = re.compile(MAC_PATTERN)


class AddressSyntaxError(ValueError):
    """Not a MAC (or IP) address at all; `value` is what was given."""

    def __init__(self, value: Any, kind: str) -> None:
        self.value = value
        self.kind = kind
        super().__init__(f"{value!r} is not a valid {kind}")


def parse_mac(value: Any) -> str:
    """A MAC address in lower case; AddressSyntaxError for anything else (non-strings too)."""
    if not isinstance(value, str) or not _MAC.fullmatch(value):
        raise AddressSyntaxError(value, "MAC address")
    return value.lower()


def is_multicast_mac(mac: str) -> bool:
    """The group bit (lowest bit of the first octet) of a parsed MAC."""
    return bool(int(mac[:2], 16) & 1)


def parse_ip(value: Any) -> IPAddress:
    """An IPv4 or IPv6 address; AddressSyntaxError for anything else (numbers included:
    ipaddress would take 167772161 for 10.0.0.1, which no Neutron field means)."""
    if not isinstance(value, str):
        raise AddressSyntaxError(value, "IP address")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise AddressSyntaxError(value, "IP address") from None
