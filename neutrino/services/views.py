"""Rows -> Neutron-shaped dicts; pure."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from neutrino import dns_names
from neutrino.db.models import Agent, Network, Port, Subnet
from neutrino.services.clock import api_time, isoformat


def network_view(net: Network) -> dict[str, Any]:
    seg = net.segment
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
        "subnets": [s.id for s in net.subnets],
        "router:external": False,
        "availability_zone_hints": [],
        "availability_zones": [],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "provider:network_type": seg.network_type if seg else None,
        "provider:physical_network": seg.physical_network if seg else None,
        "provider:segmentation_id": (seg.segmentation_id or None) if seg else None,
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
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
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
        "extra_dhcp_opts": [],
        "dns_name": port.dns_name,
        "dns_assignment": dns_names.assignment(ips, port.dns_name, dns_domain),
        "security_groups": [],
        "revision_number": port.revision_number,
        "tags": [],
        "created_at": api_time(port.created_at),
        "updated_at": api_time(port.updated_at),
    }


# The columns agent_row_view() reads, in its order; heartbeat_timestamp last.
AGENT_COLUMNS = ("id", "agent_type", "binary", "topic", "host", "admin_state_up",
                 "description", "configurations", "availability_zone", "created_at",
                 "started_at", "load", "heartbeat_timestamp")


def agent_row_view(row: Row[Any], alive: bool) -> dict[str, Any]:
    """agent_view() for a plain row of AGENT_COLUMNS; datetimes are left to the encoder."""
    (agent_id, agent_type, binary, topic, host, admin_state_up, description, configurations,
     zone, created_at, started_at, load, heartbeat) = tuple(row)
    return {"id": agent_id, "agent_type": agent_type, "binary": binary, "topic": topic,
            "host": host, "admin_state_up": admin_state_up, "alive": alive,
            "description": description, "configurations": configurations,
            "availability_zone": zone, "created_at": created_at, "started_at": started_at,
            "heartbeat_timestamp": heartbeat, "load": load, "resources_synced": None}


def agent_view(agent: Agent, alive: bool) -> dict[str, Any]:
    return {
        "id": agent.id,
        "agent_type": agent.agent_type,
        "binary": agent.binary,
        "topic": agent.topic,
        "host": agent.host,
        "admin_state_up": agent.admin_state_up,
        "alive": alive,
        "description": agent.description,
        "configurations": agent.configurations,
        "resource_versions": agent.resource_versions,
        "availability_zone": agent.availability_zone,
        "created_at": isoformat(agent.created_at),
        "started_at": isoformat(agent.started_at),
        "heartbeat_timestamp": isoformat(agent.heartbeat_timestamp),
        "load": agent.load,
        "resources_synced": None,
    }
