"""Typed payloads exchanged between agents and the server, whatever the transport.

Version 1. Both sides validate on receipt; a field added later must have a default so that
an older peer still parses the message.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neutrino.transport.bounds import FreeJson, Host, Identifier, Text

PROTOCOL_VERSION = 1

AGENT_TYPE_DHCP = "DHCP agent"
AGENT_TYPE_LINUXBRIDGE = "Linux bridge agent"
TOPIC_DHCP_AGENT = "dhcp_agent"
TOPIC_L2_AGENT = "N/A"
DEVICE_OWNER_DHCP = "network:dhcp"
# Port ids per update_device_list list (the L2 agent sends at most 500: 36 bytes each).
MAX_DEVICES = 1000


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class AgentState(Message):
    """What an agent says about itself on every heartbeat."""

    agent_type: Text
    binary: Text
    host: Host
    topic: Text = "N/A"
    configurations: FreeJson = Field(default_factory=dict)
    start_flag: bool = False
    availability_zone: Text | None = None
    resource_versions: FreeJson = Field(default_factory=dict)


class ReportResult(Message):
    agent_id: str
    # Lets the agent log when the server thinks it is disabled; it keeps serving anyway.
    admin_state_up: bool = True


class FixedIp(Message):
    subnet_id: str
    ip_address: str


class DnsAssignment(Message):
    """One name of a port's address (dns-integration): what its network's dnsmasq answers."""

    hostname: str
    ip_address: str
    fqdn: str


class PortInfo(Message):
    id: str
    network_id: str
    name: str = ""
    mac_address: str
    fixed_ips: list[FixedIp] = Field(default_factory=list)
    device_owner: str = ""
    device_id: str = ""
    admin_state_up: bool = True
    binding_host_id: str = Field("", alias="binding:host_id")
    revision_number: int = 0
    extra_dhcp_opts: list[dict[str, Any]] = Field(default_factory=list)
    dns_name: str = ""
    dns_assignment: list[DnsAssignment] = Field(default_factory=list)


class HostRoute(Message):
    destination: str
    nexthop: str


class AllocationPool(Message):
    start: str
    end: str


class SubnetInfo(Message):
    id: str
    network_id: str
    name: str = ""
    cidr: str
    ip_version: int = 4
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: list[str] = Field(default_factory=list)
    host_routes: list[HostRoute] = Field(default_factory=list)
    allocation_pools: list[AllocationPool] = Field(default_factory=list)
    revision_number: int = 0


class Segment(Message):
    network_type: str = Field(alias="provider:network_type")
    physical_network: str | None = Field(None, alias="provider:physical_network")
    segmentation_id: int | None = Field(None, alias="provider:segmentation_id")


class NetworkInfo(Message):
    """One network's full state as a DHCP agent needs it."""

    id: str
    name: str = ""
    project_id: str = ""
    admin_state_up: bool = True
    mtu: int = 1500
    revision_number: int = 0
    network_type: str = Field("local", alias="provider:network_type")
    physical_network: str | None = Field(None, alias="provider:physical_network")
    segmentation_id: int | None = Field(None, alias="provider:segmentation_id")
    subnets: list[SubnetInfo] = Field(default_factory=list)
    ports: list[PortInfo] = Field(default_factory=list)


class NetworkRef(Message):
    id: str
    revision_number: int = 0


class DhcpPortRequest(Message):
    """Create (or reuse) the DHCP port of `device_id` on a network."""

    network_id: Identifier
    device_id: Text
    host: Host
    subnet_ids: list[Identifier] = Field(default_factory=list, max_length=64)
    mac_address: Text | None = None


class NetworkApplied(Message):
    """What one DHCP agent's dnsmasq now reflects of a network (issue 14: address reuse)."""

    network_id: str
    # The network revision the agent's dnsmasq now reflects (a BIGINT in the database).
    revision_number: int = Field(ge=0, le=2**63 - 1)
    serving: bool = True  # False: the agent tore this network down


class DeviceList(Message):
    """Ports an L2 agent wired (tap in its network's bridge) or unplugged since it last said
    (Neutron's update_device_list); a port bound to another host now is ignored."""

    devices_up: list[Identifier] = Field(default_factory=list, max_length=MAX_DEVICES)
    devices_down: list[Identifier] = Field(default_factory=list, max_length=MAX_DEVICES)


class Event(Message):
    """A change notice: what changed, never the new state (DESIGN.md)."""

    revision: int
    event: str  # e.g. "network.update", "port.create", "agent.network_added"
    resource: str  # network, subnet, port, agent
    resource_id: str
    network_id: str | None = None
    host: str | None = None  # None: every agent


class EventBatch(Message):
    events: list[Event] = Field(default_factory=list)
    latest_revision: int = 0
    # The log no longer holds what the agent asked for (pruned): the agent must resync.
    reset: bool = False


class BoundDevice(Message):
    """A port bound to a host, with the segment the L2 agent must wire it to."""

    port_id: str
    network_id: str
    mac_address: str
    device_owner: str = ""
    # The server's view: this host's L2 agent reported the port wired (update_device_list).
    wired: bool = False
    network_type: str
    physical_network: str | None = None
    segmentation_id: int | None = None
    mtu: int = 1500


class TunnelEndpoint(Message):
    host: str
    ip: str
    tunnel_types: list[str] = Field(default_factory=list)


class L2HostState(Message):
    devices: list[BoundDevice] = Field(default_factory=list)
    tunnel_endpoints: list[TunnelEndpoint] = Field(default_factory=list)
    latest_revision: int = 0


Direction = Literal["agent_to_server", "server_to_agent"]
