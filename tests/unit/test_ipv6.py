"""IPv6 mode rules and EUI-64 addresses, over plain values."""
from __future__ import annotations

import pytest

from neutrino import ipv6
from neutrino.errors import InvalidInput

V6 = "2001:db8:1::/64"


@pytest.mark.parametrize(("ra_mode", "address_mode"), [
    (None, None), ("slaac", "slaac"), ("dhcpv6-stateful", "dhcpv6-stateful"),
    ("dhcpv6-stateless", "dhcpv6-stateless"), (None, "slaac"), (None, "dhcpv6-stateful"),
    (None, "dhcpv6-stateless"), ("slaac", None), ("dhcpv6-stateful", None),
    ("dhcpv6-stateless", None)])
def test_equal_or_single_modes_are_accepted(ra_mode: str | None,
                                            address_mode: str | None) -> None:
    ipv6.validate_modes(6, V6, True, ra_mode, address_mode)


@pytest.mark.parametrize(("ra_mode", "address_mode"), [
    ("slaac", "dhcpv6-stateful"), ("slaac", "dhcpv6-stateless"),
    ("dhcpv6-stateful", "slaac"), ("dhcpv6-stateful", "dhcpv6-stateless"),
    ("dhcpv6-stateless", "slaac"), ("dhcpv6-stateless", "dhcpv6-stateful")])
def test_two_different_modes_are_refused(ra_mode: str, address_mode: str) -> None:
    with pytest.raises(InvalidInput, match="must be the same value"):
        ipv6.validate_modes(6, V6, True, ra_mode, address_mode)


@pytest.mark.parametrize(("ra_mode", "address_mode"), [
    ("slaac", None), (None, "dhcpv6-stateful"), ("dhcpv6-stateless", "dhcpv6-stateless")])
def test_a_mode_on_an_ipv4_subnet_is_refused(ra_mode: str | None,
                                              address_mode: str | None) -> None:
    with pytest.raises(InvalidInput, match="when ip_version is 4"):
        ipv6.validate_modes(4, "10.0.0.0/24", True, ra_mode, address_mode)


def test_a_mode_without_dhcp_is_refused() -> None:
    with pytest.raises(InvalidInput, match="enable_dhcp is set to False"):
        ipv6.validate_modes(6, V6, False, None, "dhcpv6-stateful")
    ipv6.validate_modes(6, V6, False, None, None)


@pytest.mark.parametrize("mode", ["slaac", "dhcpv6-stateless"])
@pytest.mark.parametrize("cidr", ["2001:db8::/48", "2001:db8::/80", "2001:db8::/120"])
def test_eui64_modes_need_a_64_prefix(mode: str, cidr: str) -> None:
    with pytest.raises(InvalidInput, match="requires the prefix to be /64"):
        ipv6.validate_modes(6, cidr, True, None, mode)
    with pytest.raises(InvalidInput, match="requires the prefix to be /64"):
        ipv6.validate_modes(6, cidr, True, mode, None)


def test_stateful_takes_any_prefix() -> None:
    ipv6.validate_modes(6, "2001:db8::/120", True, "dhcpv6-stateful", "dhcpv6-stateful")


@pytest.mark.parametrize("bad", ["SLAAC", "dhcpv6", "", "static"])
def test_unknown_mode_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="is not in slaac, dhcpv6-stateful"):
        ipv6.validate_modes(6, V6, True, None, bad)


@pytest.mark.parametrize(("address_mode", "ra_mode", "auto"), [
    ("slaac", None, True), ("dhcpv6-stateless", None, True), ("dhcpv6-stateful", None, False),
    (None, None, False), (None, "slaac", True), (None, "dhcpv6-stateful", False),
    ("dhcpv6-stateful", "dhcpv6-stateful", False)])
def test_auto_address_follows_the_address_mode(address_mode: str | None, ra_mode: str | None,
                                               auto: bool) -> None:
    assert ipv6.is_auto_address(address_mode, ra_mode) is auto


@pytest.mark.parametrize(("cidr", "mac", "address"), [
    # RFC 4291 appendix A's worked example: 34-56-78-9A-BC-DE -> 3656:78ff:fe9a:bcde.
    ("fe80::/64", "34:56:78:9a:bc:de", "fe80::3656:78ff:fe9a:bcde"),
    # An OpenStack MAC: fa (locally administered) loses that bit and becomes f8.
    ("2001:db8:1::/64", "fa:16:3e:12:34:56", "2001:db8:1:0:f816:3eff:fe12:3456"),
    ("2001:db8::/64", "00:16:3e:33:44:55", "2001:db8::216:3eff:fe33:4455"),
    ("fd00:1:2:3::/64", "02:00:00:00:00:01", "fd00:1:2:3:0:ff:fe00:1"),
])
def test_eui64_matches_known_vectors(cidr: str, mac: str, address: str) -> None:
    assert ipv6.eui64_address(cidr, mac) == address
