"""Rows -> Neutron-shaped dicts; pure."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from neutrino import dns_names, zone_hints
from neutrino.db.models import Agent, Network, Port, Subnet
from neutrino.services.clock import api_time, isoformat


def network_view(net: Network, zones: Sequence[str] = ()) -> dict[str, Any]:
    """`zones`: those of the DHCP agents hosting it (services/availability_zones.py)."""
    seg = net.segment
    return network_fields(net, [s.id for s in net.subnets],
                          (seg.network_type, seg.physical_network, seg.segmentation_id)
                          if seg else None, zones)


# The columns network_fields reads, for listings that select plain rows (no ORM objects).
NETWORK_COLUMNS = ("id", "name", "description", "project_id", "admin_state_up", "shared",
                   "status", "mtu", "dns_domain", "availability_zone_hints",
                   "revision_number", "created_at", "updated_at")


def network_fields(net: Any, subnet_ids: list[str],
                   segment: tuple[str, str | None, int] | None,
                   zones: Sequence[str] = ()) -> dict[str, Any]:
    """A network from its columns (an ORM object or a row with NETWORK_COLUMNS), its
    subnets' ids, its segment's (network_type, physical_network, segmentation_id) and the
    zones of the DHCP agents hosting it."""
    return {
        "id": net.id,
        "name": net.name,
        "description": net.description,
        "tenant_id": net.project_id,
        "project_id": net.project_id,
        "admin_state_up": net.admin_state_up,
        "shared": net.shared,
        "status": net.status,
        "mtu": net.mtu,
        "dns_domain": net.dns_domain,
        "subnets": subnet_ids,
        "router:external": False,
        "availability_zone_hints": zone_hints.split(net.availability_zone_hints),
        "availability_zones": list(zones),
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "provider:network_type": segment[0] if segment else None,
        "provider:physical_network": segment[1] if segment else None,
        "provider:segmentation_id": (segment[2] or None) if segment else None,
        "revision_number": net.revision_number,
        "tags": [],
        "created_at": api_time(net.created_at),
        "updated_at": api_time(net.updated_at),
    }


def subnet_view(sub: Subnet) -> dict[str, Any]:
    return {
        "id": sub.id,
        "name": sub.name,
        "description": sub.description,
        "network_id": sub.network_id,
        "tenant_id": sub.project_id,
        "project_id": sub.project_id,
        "ip_version": sub.ip_version,
        "cidr": sub.cidr,
        "gateway_ip": sub.gateway_ip,
        "enable_dhcp": sub.enable_dhcp,
        "allocation_pools": list(sub.allocation_pools),
        "dns_nameservers": list(sub.dns_nameservers),
        "host_routes": list(sub.host_routes),
        "ipv6_ra_mode": sub.ipv6_ra_mode,
        "ipv6_address_mode": sub.ipv6_address_mode,
        "subnetpool_id": None,
        "revision_number": sub.revision_number,
        "tags": [],
        "created_at": api_time(sub.created_at),
        "updated_at": api_time(sub.updated_at),
    }


def port_view(port: Port, dns_domain: str) -> dict[str, Any]:
    """The port as the API shows it; `dns_domain` is the server's [DEFAULT] dns_domain."""
    ips = [a.ip_address for a in port.fixed_ips]
    return {
        "id": port.id,
        "name": port.name,
        "description": port.description,
        "network_id": port.network_id,
        "tenant_id": port.project_id,
        "project_id": port.project_id,
        "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up,
        "status": port.status,
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                      for a in port.fixed_ips],
        "binding:host_id": port.binding_host_id,
        "binding:vif_type": "bridge" if port.binding_host_id else "unbound",
        "binding:vnic_type": "normal",
        "binding:vif_details": {},
        "binding:profile": {},
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [{"opt_name": o.opt_name, "opt_value": o.opt_value,
                             "ip_version": o.ip_version} for o in port.extra_dhcp_opts],
        "dns_name": port.dns_name,
        "dns_assignment": dns_names.assignment(ips, port.dns_name, dns_domain),
        "security_groups": [],
        "revision_number": port.revision_number,
        "tags": [],
        "created_at": api_time(port.created_at),
        "updated_at": api_time(port.updated_at),
    }


# Every column the API shows of an agent (list and show alike), as agent_view() reads them;
# agent_row_view() unpacks a row in this order.
AGENT_COLUMNS = ("id", "agent_type", "binary", "topic", "host", "admin_state_up",
                 "description", "configurations", "resource_versions", "availability_zone",
                 "created_at", "started_at", "heartbeat_timestamp", "load")


def agent_time(value: datetime | None) -> datetime | str | None:
    """An agent timestamp that the JSON encoder writes as clock.isoformat() does (with
    microseconds, the seed's form). It would drop a whole second's ".000000", so those are
    written here; the others are left to it: formatting 3,000 in Python is most of the cost
    of listing 1,000 agents."""
    return value if value is None or value.microsecond else isoformat(value)


def agent_columns(agent: Agent) -> dict[str, Any]:
    """The AGENT_COLUMNS of an ORM agent, as agent_view() takes them."""
    return {name: getattr(agent, name) for name in AGENT_COLUMNS}


def agent_view(columns: Mapping[str, Any], alive: bool) -> dict[str, Any]:
    """The API's agent (list, show, update and dhcp-agents alike) from its AGENT_COLUMNS."""
    return agent_row_view(tuple(columns[name] for name in AGENT_COLUMNS), alive)


def agent_row_view(row: Sequence[Any], alive: bool) -> dict[str, Any]:
    """agent_view() of the AGENT_COLUMNS as a plain row, in that order.

    Positional on purpose: listing 4,000 agents builds 4,000 of these, and unpacking a
    row costs a fraction of looking up its 14 columns by name.
    """
    (agent_id, agent_type, binary, topic, host, admin_state_up, description, configurations,
     resource_versions, availability_zone, created_at, started_at, heartbeat_timestamp,
     load) = row
    return {
        "id": agent_id,
        "agent_type": agent_type,
        "binary": binary,
        "topic": topic,
        "host": host,
        "admin_state_up": admin_state_up,
        "alive": alive,
        "description": description,
        "configurations": configurations,
        "resource_versions": resource_versions,
        "availability_zone": availability_zone,
        "created_at": agent_time(created_at),
        "started_at": agent_time(started_at),
        "heartbeat_timestamp": agent_time(heartbeat_timestamp),
        "load": load,
        "resources_synced": None,
    }
