"""When a compute port and a network are ACTIVE (pure): the rule of docs/operations.md,
"Port and network status".

Under Neutron a compute port turns ACTIVE once its provisioning blocks are gone: the L2
agent of its host has plugged it and DHCP has loaded it; that is what Nova waits for
before it starts the instance. Here the two facts are plain data: which host's L2 agent
last reported the port wired, and which network revision each hosting DHCP agent
confirmed (networks_applied) against the revision at which the port's MAC and addresses
were last written.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ACTIVE = "ACTIVE"
DOWN = "DOWN"
# Neutron's device_owner prefix for instance ports (compute:nova, compute:<zone>).
COMPUTE_PREFIX = "compute:"


def follows_wiring(device_owner: str) -> bool:
    """True for the ports whose status this rule decides (instance ports)."""
    return device_owner.startswith(COMPUTE_PREFIX)


@dataclass(frozen=True)
class PortFacts:
    status: str  # as stored now
    admin_state_up: bool
    binding_host_id: str
    wired_host: str  # the host whose L2 agent last reported the port wired; "" for none
    written_revision: int  # network revision at which its MAC/IPs were last written


@dataclass(frozen=True)
class DhcpCopy:
    """One DHCP agent hosting the network, with the revision it confirmed serving."""

    agent_id: str
    applied_revision: int | None  # None: has confirmed nothing since it was bound


def wired(port: PortFacts) -> bool:
    return bool(port.binding_host_id) and port.wired_host == port.binding_host_id


def missing(port: PortFacts, copies: Sequence[DhcpCopy]) -> list[str]:
    """The hosting DHCP agents whose dnsmasq does not have the port as written yet."""
    return [c.agent_id for c in copies
            if c.applied_revision is None or c.applied_revision < port.written_revision]


def port_status(port: PortFacts, copies: Sequence[DhcpCopy]) -> str:
    """ACTIVE when wired on its binding host and loaded by every hosting DHCP agent.

    An agent newly bound to the network (failover, dhcp-agent-network-add, rebalance) has
    confirmed nothing yet; it does not take an ACTIVE port back to DOWN, since the agents
    that were already serving it still do (make-before-break). It does hold back a port
    that is not ACTIVE yet: that port waits for every agent hosting the network.
    """
    if not port.admin_state_up or not wired(port):
        return DOWN
    lagging = [c for c in copies if c.agent_id in missing(port, copies)]
    if not lagging:
        return ACTIVE
    if port.status == ACTIVE and all(c.applied_revision is None for c in lagging):
        return ACTIVE
    return DOWN


def network_status(admin_state_up: bool, copies: Sequence[DhcpCopy]) -> str:
    """ACTIVE when administratively up and DHCP is served: no agent hosts it (nothing to
    wait for, as Neutron's networks are ACTIVE from creation) or at least one hosting agent
    has confirmed serving it; DOWN otherwise."""
    if not admin_state_up:
        return DOWN
    if not copies or any(c.applied_revision is not None for c in copies):
        return ACTIVE
    return DOWN
