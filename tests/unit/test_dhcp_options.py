"""extra_dhcp_opts rules: names, values, dnsmasq spelling, and Neutron's update merge."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino import dhcp_options
from neutrino.dhcp_options import InvalidDhcpOption, apply_request, check_value, parse_name


@pytest.mark.parametrize(("opt_name", "version", "field"), [
    ("bootfile-name", 4, "option:bootfile-name"),
    ("67", 4, "67"),
    ("067", 4, "67"),
    ("tftp-server", 4, "option:tftp-server"),
    ("server-ip-address", 4, "option:server-ip-address"),
    ("tag:ipxe,bootfile-name", 4, "tag:ipxe,option:bootfile-name"),
    ("tag:!ipxe,67", 4, "tag:!ipxe,67"),
    ("bootfile-url", 6, "option6:bootfile-url"),
    ("59", 6, "option6:59"),
    ("tag:ipxe6,59", 6, "tag:ipxe6,option6:59"),
])
def test_names_and_codes_become_dnsmasq_fields(opt_name: str, version: int,
                                               field: str) -> None:
    assert parse_name(opt_name, version).dnsmasq_field(version) == field


@pytest.mark.parametrize(("opt_name", "version", "words"), [
    ("bootfile-nam", 4, "not a DHCPv4 option"),
    ("bootfile-url", 4, "not a DHCPv4 option"),  # a DHCPv6 name
    ("bootfile-name", 6, "not a DHCPv6 option"),
    ("0", 4, "not in range 1 through 254"),
    ("255", 4, "not in range"),
    ("65536", 6, "not in range 1 through 65535"),
    ("", 4, "1 to 64"),
    ("x" * 65, 4, "1 to 64"),
    ("option:bootfile-name", 4, "not a DHCPv4 option"),
    ("tag:a b,67", 4, "not a DHCPv4 option"),
    ("tag:ipxe,tag:x,67", 4, "not a DHCPv4 option"),
    ("bootfile-name\nx", 4, "not a DHCPv4 option"),
    ("٦٧", 4, "not a DHCPv4 option"),  # Arabic-Indic digits: isdigit() but not a code
])
def test_unknown_names_are_refused_with_a_reason(opt_name: str, version: int,
                                                 words: str) -> None:
    with pytest.raises(InvalidDhcpOption, match=words):
        parse_name(opt_name, version)


@pytest.mark.parametrize(("opt_name", "value", "words"), [
    ("bootfile-name", "a\nb", "one line"),
    ("bootfile-name", "a\rb", "one line"),
    ("bootfile-name", "tab\there", "one line"),
    ("bootfile-name", "é", "printable ASCII"),
    ("bootfile-name", "x" * 256, "maximum length of 255"),
    ("bootfile-name", "", "must not be empty"),
    ("tftp-server-address", "not-an-ip", "IPv4 addresses"),
    ("dns-server", "10.0.0.1,10.0.0.300", "IPv4 addresses"),
    ("6", "10.0.0.1,nope", "IPv4 addresses"),
    ("server-ip-address", "boot.example", "IPv4 addresses"),
])
def test_bad_values_are_refused_with_a_reason(opt_name: str, value: str, words: str) -> None:
    with pytest.raises(InvalidDhcpOption, match=words):
        check_value(parse_name(opt_name, 4), value, 4)


@pytest.mark.parametrize(("opt_name", "value"), [
    ("bootfile-name", "pxelinux.0"), ("tftp-server", "tftp.example.org"),
    ("dns-server", "10.0.0.1, 10.0.0.2"), ("router", ""), ("classless-static-route", ""),
    ("server-ip-address", "192.0.2.9"), ("tag:ipxe,67", "http://192.0.2.9/boot.ipxe"),
    ("domain-search", "a.example,b.example"),
])
def test_good_values_pass_unchanged(opt_name: str, value: str) -> None:
    assert check_value(parse_name(opt_name, 4), value, 4) == value


@given(st.text(max_size=300))
def test_an_accepted_value_is_always_one_line_of_printable_ascii(value: str) -> None:
    try:
        checked = check_value(parse_name("bootfile-name", 4), value, 4)
    except InvalidDhcpOption:
        return
    assert checked.isascii() and checked.isprintable() and "\n" not in checked
    assert 0 < len(checked) <= dhcp_options.VALUE_MAX


def test_update_merges_by_name_and_version_and_null_deletes() -> None:
    current = {("bootfile-name", 4): "a", ("tftp-server", 4): "t", ("59", 6): "u"}
    after = apply_request(current, [
        {"opt_name": "bootfile-name", "opt_value": "b", "ip_version": 4},
        {"opt_name": "tftp-server", "opt_value": None, "ip_version": 4},
        {"opt_name": "mtu", "opt_value": "1400", "ip_version": 4},
        {"opt_name": "59", "opt_value": None, "ip_version": 4},  # other version: no-op
    ])
    assert after == {("bootfile-name", 4): "b", ("mtu", 4): "1400", ("59", 6): "u"}
    assert current[("bootfile-name", 4)] == "a"  # the input is not changed


def test_empty_list_clears_and_create_drops_nulls() -> None:
    assert apply_request({("mtu", 4): "1400"}, []) == {}
    assert apply_request({}, [{"opt_name": "mtu", "opt_value": None, "ip_version": 4}]) == {}


@pytest.mark.parametrize(("opt_name", "value", "rendered"), [
    ("dns-server", "2001:db8::53", "[2001:db8::53]"),
    ("dns-server", "[2001:db8::53], 2001:DB8::54", "[2001:db8::53],[2001:db8::54]"),
    ("23", "2001:db8::1", "[2001:db8::1]"),
    ("sntp-server", "[fd00::7]", "[fd00::7]"),
    ("bootfile-url", "tftp://[2001:db8::9]/boot.ipxe", "tftp://[2001:db8::9]/boot.ipxe"),
])
def test_dhcpv6_address_options_are_written_as_dnsmasq_wants_them(opt_name: str, value: str,
                                                                    rendered: str) -> None:
    # dnsmasq reads a DHCPv6 address only in brackets; a bare one would be dropped.
    assert check_value(parse_name(opt_name, 6), value, 6) == rendered


@pytest.mark.parametrize("value", ["10.0.0.1", "not-an-address", "[2001:db8::1", "2001:db8::1,x"])
def test_dhcpv6_address_options_refuse_what_is_not_ipv6(value: str) -> None:
    with pytest.raises(InvalidDhcpOption, match="IPv6 addresses"):
        check_value(parse_name("dns-server", 6), value, 6)
