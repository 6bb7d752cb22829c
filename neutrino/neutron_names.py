"""Neutron's fixed names that server, agents and API clients must spell alike.

They are API values (an agent's `agent_type` and `topic`, a port's `device_owner`), so they
belong to no transport; Neutron operators filter on them (`--agent-type "DHCP agent"`).
"""
from __future__ import annotations

AGENT_TYPE_DHCP = "DHCP agent"
AGENT_TYPE_LINUXBRIDGE = "Linux bridge agent"
TOPIC_DHCP_AGENT = "dhcp_agent"
TOPIC_L2_AGENT = "N/A"
DEVICE_OWNER_DHCP = "network:dhcp"
