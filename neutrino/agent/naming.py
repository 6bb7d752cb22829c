"""Kernel names of the things the agents create; all fit the 15-character link name limit."""
from __future__ import annotations

import uuid

# Linux IFNAMSIZ is 16 including the terminating NUL.
MAX_LINK_NAME = 15
ID_CHARS = 11  # Neutron's choice: prefix (3) + 11 id characters = 14

TAP_PREFIX = "tap"
BRIDGE_PREFIX = "brq"
NS_DEVICE_PREFIX = "ns-"
VXLAN_PREFIX = "vxlan-"


def tap_name(port_id: str) -> str:
    """Root-namespace end of a port's device: tap<port-id[:11]>."""
    return TAP_PREFIX + port_id[:ID_CHARS]


def ns_device_name(port_id: str) -> str:
    """Namespace end of the DHCP port's veth pair: ns-<port-id[:11]>."""
    return NS_DEVICE_PREFIX + port_id[:ID_CHARS]


def bridge_name(network_id: str) -> str:
    """The network's bridge, shared by the DHCP agent and the L2 agent: brq<net-id[:11]>."""
    return BRIDGE_PREFIX + network_id[:ID_CHARS]


def vxlan_name(vni: int) -> str:
    """VXLAN uplink of a network: vxlan-<vni> (VNI < 2**24, so at most 14 characters)."""
    return f"{VXLAN_PREFIX}{vni}"


def vlan_name(physical_interface: str, vlan_id: int) -> str:
    """VLAN uplink of a network: <physical-interface>.<vlan-id>."""
    name = f"{physical_interface}.{vlan_id}"
    if len(name) > MAX_LINK_NAME:
        raise ValueError(f"VLAN device name {name!r} is longer than {MAX_LINK_NAME} characters")
    return name


def namespace_name(prefix: str, network_id: str) -> str:
    """The network's DHCP namespace: <namespace_prefix><network-id> (qdhcp-<id> by default)."""
    return prefix + network_id


def dhcp_device_id(host: str, network_id: str) -> str:
    """device_id of this host's DHCP port on a network; stable across agent restarts."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"
