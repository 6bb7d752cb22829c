"""One rule for MAC and IP values: config, API attributes and IPAM accept and refuse the same
forms (a table), each with its own wording."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from neutrino import addresses, config, ipam
from neutrino.api import attributes
from neutrino.errors import InvalidInput

# Each call site as "value -> normalised text, or one of its own errors".
MAC_SITES: dict[str, Callable[[Any], str]] = {
    "config base_mac": config.parse_mac,
    "API mac_address": lambda v: attributes.mac_text("mac_address", v),
    "IPAM port MAC": ipam.validate_mac,
}
IP_SITES: dict[str, Callable[[Any], str]] = {
    "config bind_host": config.parse_ip,
    "API ip_address": lambda v: attributes.ip_text("ip_address", v),
    "IPAM gateway_ip": lambda v: str(ipam.parse_ip(v, "gateway_ip")),
}
REFUSALS = (ValueError, InvalidInput)

MAC_FORMS: list[tuple[Any, str | None]] = [
    ("fa:16:3e:00:00:01", "fa:16:3e:00:00:01"),
    ("FA:16:3E:AB:CD:EF", "fa:16:3e:ab:cd:ef"),
    ("02:00:00:00:00:00", "02:00:00:00:00:00"),
    ("fa:16:3e:00:00", None),  # five octets
    ("fa:16:3e:00:00:00:01", None),
    ("fa-16-3e-00-00-01", None),  # dashes (Windows' form)
    ("fa16.3e00.0001", None),  # dots (Cisco's form)
    ("fa163e000001", None),
    ("fa:16:3e:00:00:0g", None),
    ("fa:16:3e:00:00:001", None),
    ("f:16:3e:00:00:01", None),
    ("", None),
]
IP_FORMS: list[tuple[Any, str | None]] = [
    ("10.0.0.1", "10.0.0.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
    ("::ffff:10.0.0.1", "::ffff:a00:1"),
    ("10.0.0.300", None),
    ("10.0.0", None),
    ("010.0.0.1", None),  # leading zeros: octal to some, decimal to others
    ("10.0.0.0/24", None),
    ("dns.example", None),
    ("2001:db8::1::2", None),
    ("", None),
]
# What config never sees (INI values are text) but API bodies can carry.
NOT_TEXT: list[Any] = [12, 167772161, None, ["10.0.0.1"]]


def outcome(site: Callable[[Any], str], value: Any) -> str | None:
    try:
        return site(value)
    except REFUSALS:
        return None


@pytest.mark.parametrize(("value", "expected"), MAC_FORMS)
def test_every_mac_call_site_accepts_and_refuses_the_same_forms(value: Any,
                                                                expected: str | None) -> None:
    assert {name: outcome(site, value) for name, site in MAC_SITES.items()} == \
        dict.fromkeys(MAC_SITES, expected)


@pytest.mark.parametrize(("value", "expected"), IP_FORMS)
def test_every_ip_call_site_accepts_and_refuses_the_same_forms(value: Any,
                                                               expected: str | None) -> None:
    assert {name: outcome(site, value) for name, site in IP_SITES.items()} == \
        dict.fromkeys(IP_SITES, expected)


@pytest.mark.parametrize("value", NOT_TEXT)
def test_api_and_ipam_refuse_values_that_are_not_text(value: Any) -> None:
    for site in (MAC_SITES["API mac_address"], MAC_SITES["IPAM port MAC"],
                 IP_SITES["API ip_address"], IP_SITES["IPAM gateway_ip"]):
        assert outcome(site, value) is None


def test_each_site_keeps_its_own_wording() -> None:
    with pytest.raises(ValueError, match="^a MAC address such as fa:16:3e:00:00:00$"):
        config.parse_mac("fa:16")
    with pytest.raises(InvalidInput, match=r"^Invalid input for mac_address\. Reason: "
                                           r"'fa:16' is not a valid MAC address\.$"):
        attributes.mac_text("mac_address", "fa:16")
    with pytest.raises(InvalidInput, match="^'fa:16' is not a valid MAC address such as "):
        ipam.validate_mac("fa:16")
    with pytest.raises(ValueError, match="^an IP address$"):
        config.parse_ip("x")
    with pytest.raises(InvalidInput, match="Reason: 'x' is not a valid IP address"):
        attributes.ip_text("gateway_ip", "x")
    with pytest.raises(InvalidInput, match="^'x' is not a valid gateway_ip\\.$"):
        ipam.parse_ip("x", "gateway_ip")


def test_config_strips_ini_whitespace_before_the_shared_rule() -> None:
    assert config.parse_mac(" FA:16:3E:00:00:00 ") == "fa:16:3e:00:00:00"
    assert config.parse_ip(" 10.0.0.1 ") == "10.0.0.1"
    for value in (" fa:16:3e:00:00:01", "fa:16:3e:00:00:01\n"):
        assert outcome(MAC_SITES["API mac_address"], value) is None
        assert outcome(MAC_SITES["IPAM port MAC"], value) is None


def test_a_ports_mac_must_also_be_unicast_and_not_zero() -> None:
    """Beyond the syntax, a rule of ports only (IPAM): base_mac is a template, not a port's."""
    for mac in ("01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"):
        assert addresses.parse_mac(mac) == mac
        with pytest.raises(InvalidInput, match="multicast|not allowed"):
            ipam.validate_mac(mac)
