"""IPv6 subnet modes and EUI-64 addresses (pure: Neutron's rules over plain values).

`ipv6_address_mode` says how a VM gets its address (`slaac`: from router advertisements,
derived from its MAC; `dhcpv6-stateful`: from DHCPv6; `dhcpv6-stateless`: SLAAC for the
address, DHCPv6 for options only). `ipv6_ra_mode` says what the router advertises; Neutrino
sends no router advertisements (a router's job), but keeps and validates the field as
Neutron does so that the same requests mean the same thing.
"""
from __future__ import annotations

import ipaddress

from neutrino.errors import InvalidInput, shown

SLAAC = "slaac"
DHCPV6_STATEFUL = "dhcpv6-stateful"
DHCPV6_STATELESS = "dhcpv6-stateless"
MODES = (SLAAC, DHCPV6_STATEFUL, DHCPV6_STATELESS)
# Modes whose addresses are the EUI-64 of the port's MAC, never picked from pools.
AUTO_ADDRESS_MODES = (SLAAC, DHCPV6_STATELESS)
EUI64_PREFIX_LEN = 64


def validate_modes(ip_version: int, cidr: str, enable_dhcp: bool, ra_mode: str | None,
                   address_mode: str | None) -> None:
    """Neutron's combination rules for a subnet's two IPv6 modes; InvalidInput if broken."""
    for name, mode in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
        if mode is not None and mode not in MODES:
            raise InvalidInput(f"Invalid input for {name}. Reason: '{shown(mode)}' is not in "
                               f"{', '.join(MODES)}.")
    if ra_mode is None and address_mode is None:
        return
    if ip_version != 6:
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version "
                           f"is {ip_version}; they apply to IPv6 subnets only.")
    if not enable_dhcp:
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp "
                           "is set to False.")
    if ra_mode is not None and address_mode is not None and ra_mode != address_mode:
        raise InvalidInput(f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to "
                           f"'{address_mode}' is not valid. If both attributes are set, they "
                           "must be the same value.")
    if ra_mode in AUTO_ADDRESS_MODES or address_mode in AUTO_ADDRESS_MODES:
        prefix = ipaddress.ip_network(cidr, strict=False).prefixlen
        if prefix != EUI64_PREFIX_LEN:
            raise InvalidInput(f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses "
                               "the EUI-64 address format, which requires the prefix to be "
                               f"/{EUI64_PREFIX_LEN}.")


def is_auto_address(address_mode: str | None, ra_mode: str | None = None) -> bool:
    """Addresses of this subnet are EUI-64 from the MAC (SLAAC or DHCPv6-stateless).

    Neutron decides on the address mode, and on ra_mode when only that is set.
    """
    mode = address_mode if address_mode is not None else ra_mode
    return mode in AUTO_ADDRESS_MODES


def eui64_address(cidr: str, mac: str) -> str:
    """The modified EUI-64 (RFC 4291 appendix A) of `mac` within the /64 `cidr`."""
    octets = [int(part, 16) for part in mac.split(":")]
    if len(octets) != 6:
        raise InvalidInput(f"'{shown(mac)}' is not a MAC address of six octets.")
    # Flip the universal/local bit and put ff:fe in the middle.
    ident = bytes([octets[0] ^ 0x02, *octets[1:3], 0xFF, 0xFE, *octets[3:6]])
    net = ipaddress.IPv6Network(cidr, strict=False)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(ident, "big")))
