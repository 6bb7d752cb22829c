"""An agent's load: what a DHCP agent last reported of dhcp_load_type; 0 for the others."""
from __future__ import annotations

from typing import Any

import pytest

from neutrino.services.agent_load import reported_load

CONF = {"networks": 3, "subnets": 4, "ports": 9}


@pytest.mark.parametrize(("agent_type", "conf", "load_type", "expected"), [
    ("DHCP agent", CONF, "networks", 3),
    ("DHCP agent", CONF, "subnets", 4),
    ("DHCP agent", CONF, "ports", 9),
    ("Linux bridge agent", CONF, "networks", 0),
    ("DHCP agent", {}, "networks", 0),
    ("DHCP agent", None, "networks", 0),
    # Agents report what they like: nothing that is not a count counts.
    ("DHCP agent", {"networks": "3"}, "networks", 0),
    ("DHCP agent", {"networks": True}, "networks", 0),
    ("DHCP agent", {"networks": -1}, "networks", 0),
])
def test_reported_load(agent_type: str, conf: dict[str, Any] | None, load_type: str,
                       expected: int) -> None:
    assert reported_load(agent_type, conf, load_type) == expected
