from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.naming import (
    MAX_LINK_NAME,
    bridge_name,
    dhcp_device_id,
    namespace_name,
    ns_device_name,
    tap_name,
    vlan_name,
    vxlan_name,
)

NET = "89dca1c6-c7d4-4f7a-b730-549af0fb6e34"


@pytest.mark.parametrize("func, arg, expected", [
    (tap_name, NET, "tap89dca1c6-c7"),
    (ns_device_name, NET, "ns-89dca1c6-c7"),
    (bridge_name, NET, "brq89dca1c6-c7"),
    (vxlan_name, 1001, "vxlan-1001"),
    (vxlan_name, 16777215, "vxlan-16777215"),
])
def test_device_names_follow_neutron(func: object, arg: object, expected: str) -> None:
    assert func(arg) == expected  # type: ignore[operator]


def test_vlan_name_joins_interface_and_id() -> None:
    assert vlan_name("eth0", 1000) == "eth0.1000"


def test_vlan_name_refuses_names_the_kernel_would_refuse() -> None:
    with pytest.raises(ValueError, match="15 characters"):
        vlan_name("enp0s31f6abc", 4094)


@given(st.uuids())
def test_every_link_name_fits_the_kernel_limit(any_id: uuid.UUID) -> None:
    for name in (tap_name(str(any_id)), bridge_name(str(any_id)),
                 ns_device_name(str(any_id))):
        assert len(name) <= MAX_LINK_NAME


def test_namespace_uses_prefix() -> None:
    assert namespace_name("qdhcp-", NET) == "qdhcp-" + NET


def test_dhcp_device_id_is_stable_per_host_and_distinct_between_hosts() -> None:
    a = dhcp_device_id("HostA", NET)
    assert a == dhcp_device_id("HostA", NET)
    assert a != dhcp_device_id("HostB", NET)
    assert a == f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, 'HostA')}-{NET}"
