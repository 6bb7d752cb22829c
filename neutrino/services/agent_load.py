"""An agent's `load` as the API shows it: for a DHCP agent, what it last reported of the
[DEFAULT] dhcp_load_type resource (networks, subnets or ports it serves), as Neutron
records it at each report; 0 for other agents. Pure."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neutrino.neutron_names import AGENT_TYPE_DHCP


def reported_load(agent_type: str, configurations: Mapping[str, Any] | None,
                  load_type: str) -> int:
    if agent_type != AGENT_TYPE_DHCP:
        return 0
    value = (configurations or {}).get(load_type, 0)
    # Agents report what they like: a count that is no whole number counts as nothing.
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else 0
