"""Request-body validation against the attribute maps, without HTTP."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.api import attributes
from neutrino.api.attributes import (
    AGENT_ATTRS,
    AGENT_READ_ONLY,
    NETWORK_ATTRS,
    PORT_ATTRS,
    SUBNET_ATTRS,
    parse_body,
)
from neutrino.errors import InvalidInput, PolicyNotAuthorized

NET_ID = "0f3d2d5e-9c1a-4b7e-8f7a-1c2d3e4f5a6b"


def create(resource: str, attrs: dict[str, Any], given: dict[str, Any],
           is_admin: bool = True) -> dict[str, Any]:
    return parse_body(resource, {resource: given}, attrs, creating=True, is_admin=is_admin)


def update(resource: str, attrs: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    return parse_body(resource, {resource: given}, attrs, creating=False, is_admin=True)


def test_network_body_is_cleaned_and_tenant_id_becomes_project_id() -> None:
    clean = create("network", NETWORK_ATTRS, {"name": "n", "admin_state_up": "false",
                                              "tenant_id": "p1", "mtu": "1400"})
    assert clean == {"name": "n", "admin_state_up": False, "project_id": "p1", "mtu": 1400}


def test_port_body_normalises_mac_uuid_and_addresses() -> None:
    clean = create("port", PORT_ATTRS, {
        "network_id": NET_ID.replace("-", "").upper(), "mac_address": "FA:16:3E:00:00:01",
        "fixed_ips": [{"subnet_id": NET_ID, "ip_address": "2001:db8:0::0005"}]})
    assert clean["network_id"] == NET_ID
    assert clean["mac_address"] == "fa:16:3e:00:00:01"
    assert clean["fixed_ips"] == [{"subnet_id": NET_ID, "ip_address": "2001:db8::5"}]


@pytest.mark.parametrize("body", [
    None, [], "network", {}, {"networks": {}}, {"network": []}, {"network": "x"},
    {"network": {}, "extra": {}},
])
def test_body_without_the_resource_key_is_rejected(body: Any) -> None:
    with pytest.raises(InvalidInput, match="Resource 'network' not found in request body"):
        parse_body("network", body, NETWORK_ATTRS, creating=True, is_admin=True)


@pytest.mark.parametrize(("resource", "attrs", "given", "words"), [
    ("network", NETWORK_ATTRS, {"name": 5}, "Invalid input for name.*5.*integer, not a string"),
    ("network", NETWORK_ATTRS, {"name": ["a"]}, "Invalid input for name.*list, not a string"),
    ("network", NETWORK_ATTRS, {"name": "x" * 256}, "name.*exceeds maximum length of 255"),
    ("network", NETWORK_ATTRS, {"description": None}, "description.*null, not a string"),
    ("network", NETWORK_ATTRS, {"admin_state_up": "yes"},
     "admin_state_up.*'yes' cannot be converted to boolean"),
    ("network", NETWORK_ATTRS, {"admin_state_up": 1}, "admin_state_up.*cannot be converted"),
    ("network", NETWORK_ATTRS, {"mtu": 10}, "mtu.*10 is not in range 68 through 65535"),
    ("network", NETWORK_ATTRS, {"mtu": True}, "mtu.*is not an integer"),
    ("network", NETWORK_ATTRS, {"mtu": 1500.5}, "mtu.*is not an integer"),
    ("network", NETWORK_ATTRS, {"mtu": "big"}, "mtu.*'big' is not an integer"),
    ("network", NETWORK_ATTRS, {"provider:segmentation_id": 0},
     "provider:segmentation_id.*0 is not in range"),
    ("network", NETWORK_ATTRS, {"availability_zone_hints": "nova"},
     "availability_zone_hints.*is not a list"),
    ("network", NETWORK_ATTRS, {"colour": "red"}, "Unrecognized attribute\\(s\\) 'colour'"),
    ("network", NETWORK_ATTRS, {"id": NET_ID}, "Unrecognized attribute\\(s\\) 'id'"),
    ("network", NETWORK_ATTRS, {"tenant_id": "a", "project_id": "b"},
     "tenant_id and project_id must be the same"),
    ("subnet", SUBNET_ATTRS, {"cidr": "10.0.0.0/24"},
     "Required attribute 'network_id' not specified"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID}, "Required attribute 'cidr' not specified"),
    ("subnet", SUBNET_ATTRS, {"network_id": "net1", "cidr": "10.0.0.0/24"},
     "network_id.*'net1' is not a valid UUID"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID[:-1] + "g", "cidr": "10.0.0.0/24"},
     "network_id.*is not a valid UUID"),
    ("subnet", SUBNET_ATTRS, {"network_id": 7, "cidr": "10.0.0.0/24"},
     "network_id.*'7' is not a valid UUID"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24", "ip_version": 5},
     "ip_version.*5 is not 4 or 6"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24", "gateway_ip": "x"},
     "gateway_ip.*'x' is not a valid IP address"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": 10},
     "cidr.*integer, not a string"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24",
                              "allocation_pools": [{"start": "10.0.0.2"}]},
     "allocation_pools.*missing key\\(s\\) end"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24",
                              "allocation_pools": [{"start": "a", "end": "b", "x": "c"}]},
     "allocation_pools.*unexpected key\\(s\\) x"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24",
                              "allocation_pools": [{"start": 1, "end": "b"}]},
     "allocation_pools.*start must be a string"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24",
                              "dns_nameservers": ["8.8.8.8", "dns.example"]},
     "dns_nameservers.*'dns.example' is not a valid IP address"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID, "cidr": "10.0.0.0/24",
                              "dns_nameservers": ["8.8.8.8"] * 17},
     "dns_nameservers.*more than 16 items"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "mac_address": "fa:16:3e:00:00"},
     "mac_address.*'fa:16:3e:00:00' is not a valid MAC address"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "fixed_ips": {"ip_address": "10.0.0.3"}},
     "fixed_ips.*is not a list"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "fixed_ips": [{"ip_address": "10.0.0.300"}]},
     "fixed_ips ip_address.*'10.0.0.300' is not a valid IP address"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "fixed_ips": [{"subnet_id": "s1"}]},
     "fixed_ips subnet_id.*'s1' is not a valid UUID"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "fixed_ips": [{"subnet": NET_ID}]},
     "fixed_ips.*unexpected key\\(s\\) subnet"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "device_id": {"a": 1}},
     "device_id.*object, not a string"),
    ("port", PORT_ATTRS, {"network_id": NET_ID, "name": "a\x00b"},
     "name.*must not contain NUL"),
])
def test_create_rejects_with_the_field_named(resource: str, attrs: dict[str, Any],
                                             given: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        create(resource, attrs, given)


@pytest.mark.parametrize(("resource", "attrs", "given", "key"), [
    ("network", NETWORK_ATTRS, {"provider:network_type": "vlan"}, "provider:network_type"),
    ("network", NETWORK_ATTRS, {"tenant_id": "p"}, "tenant_id"),
    ("subnet", SUBNET_ATTRS, {"cidr": "10.0.0.0/24"}, "cidr"),
    ("subnet", SUBNET_ATTRS, {"network_id": NET_ID}, "network_id"),
    ("subnet", SUBNET_ATTRS, {"ip_version": 4}, "ip_version"),
    ("port", PORT_ATTRS, {"network_id": NET_ID}, "network_id"),
])
def test_update_rejects_read_only_attributes(resource: str, attrs: dict[str, Any],
                                             given: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidInput, match=f"Cannot update read-only attribute {key}"):
        update(resource, attrs, given)


@pytest.mark.parametrize(("given", "words"), [
    ({"host": "h"}, "Cannot update read-only attribute host"),
    ({"alive": False}, "Cannot update read-only attribute alive"),
    ({"admin_state_up": "maybe"}, "admin_state_up.*cannot be converted to boolean"),
    ({"description": ["x"]}, "description.*list, not a string"),
    ({"colour": 1}, "Unrecognized attribute\\(s\\) 'colour'"),
])
def test_agent_update_rejects(given: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_body("agent", {"agent": given}, AGENT_ATTRS, creating=False, is_admin=True,
                   read_only=AGENT_READ_ONLY)


def test_agent_update_accepts_null_description() -> None:
    clean = parse_body("agent", {"agent": {"description": None, "admin_state_up": False}},
                       AGENT_ATTRS, creating=False, is_admin=True, read_only=AGENT_READ_ONLY)
    assert clean == {"description": None, "admin_state_up": False}


@pytest.mark.parametrize("key", ["shared", "provider:network_type", "router:external"])
def test_admin_only_network_attributes_are_refused_to_members(key: str) -> None:
    value: Any = "vlan" if key.startswith("provider") else True
    with pytest.raises(PolicyNotAuthorized, match=f"create_network:{key}"):
        create("network", NETWORK_ATTRS, {key: value}, is_admin=False)


def test_hide_admin_only_drops_provider_fields() -> None:
    item = {"id": "x", "name": "n", "provider:network_type": "vxlan", "shared": False}
    assert attributes.hide_admin_only(item, NETWORK_ATTRS) == {"id": "x", "name": "n"}


@given(st.text(max_size=300))
def test_strings_pass_unchanged_or_fail_with_a_reason(text: str) -> None:
    try:
        assert attributes.string()("name", text) == text
    except InvalidInput as exc:
        assert str(exc).startswith("Invalid input for name. Reason:")
        assert len(text) > 255 or "\x00" in text


@given(st.uuids())
def test_any_uuid_spelling_normalises_to_the_dashed_form(value: Any) -> None:
    dashed = str(value)
    assert attributes.uuid_str("id", dashed.upper()) == dashed
    assert attributes.uuid_str("id", value.hex) == dashed


def test_extra_dhcp_opts_are_normalised() -> None:
    clean = update("port", attributes.PORT_ATTRS, {"extra_dhcp_opts": [
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "59", "opt_value": None, "ip_version": "6"}]})
    assert clean["extra_dhcp_opts"] == [
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4},
        {"opt_name": "59", "opt_value": None, "ip_version": 6}]


@pytest.mark.parametrize(("opts", "words"), [
    ({"opt_name": "mtu"}, "is not a list"),
    ([{"opt_name": "nope", "opt_value": "x"}], "not a DHCPv4 option"),
    ([{"opt_value": "x"}], "needs an opt_name"),
    ([{"opt_name": "mtu", "opt_value": 1400}], "not a string or null"),
    ([{"opt_name": "mtu", "opt_value": "1", "ip_version": 5}], "not 4 or 6"),
    ([{"opt_name": "mtu", "opt_value": "1", "id": "x"}], "unexpected key"),
    ([{"opt_name": "bootfile-name", "opt_value": "a\nb"}], "one line"),
    ([{"opt_name": "mtu", "opt_value": "1"}, {"opt_name": "mtu", "opt_value": "2"}],
     "more than once"),
    ([{"opt_name": "mtu", "opt_value": "1"}] * 65, "more than 64"),
    (["mtu"], "is not an object"),
])
def test_bad_extra_dhcp_opts_are_refused(opts: Any, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        update("port", attributes.PORT_ATTRS, {"extra_dhcp_opts": opts})
