"""Domain errors, raised where the problem is known; api/errors.py maps them to HTTP once.

Messages that repeat what a client sent do so through `shown`, so that an error body stays
short and printable whatever the input was.
"""
from __future__ import annotations

import reprlib
from typing import Any

SHOWN_MAX = 64
_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxstring = _REPR.maxother = SHOWN_MAX


def shown(value: Any) -> str:
    """A short, printable rendering of client input for an error message (at most ~64 chars)."""
    text = value if isinstance(value, str) else _REPR.repr(value)
    if len(text) > SHOWN_MAX:
        text = text[:SHOWN_MAX] + "…"
    if text.isprintable():
        return text
    # Control characters and lone surrogates (which no UTF-8 response can carry) as escapes.
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class NeutrinoError(Exception):
    """Base of every error a caller can act on; the message is a full sentence."""


class NotFound(NeutrinoError):
    resource = "resource"

    def __init__(self, resource_id: str, message: str | None = None) -> None:
        self.resource_id = resource_id
        super().__init__(
            message or f"{self.resource.capitalize()} {shown(resource_id)} could not be found.")


class NetworkNotFound(NotFound):
    resource = "network"


class AvailabilityZoneNotFound(NotFound):
    resource = "availability zone"

    def __init__(self, zone: str) -> None:
        # Neutron's wording, which clients show as is.
        super().__init__(zone, f"AvailabilityZone {shown(zone)} could not be found.")


class SubnetNotFound(NotFound):
    resource = "subnet"


class PortNotFound(NotFound):
    resource = "port"


class AgentNotFound(NotFound):
    resource = "agent"


class AgentNotDhcp(NotFound):
    resource = "agent"

    def __init__(self, agent_id: str, agent_type: str) -> None:
        super().__init__(agent_id, f"Agent {agent_id} is a {agent_type}, not a DHCP agent; "
                                   "only DHCP agents can host networks.")


class AgentDisabled(NotFound):
    resource = "agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(agent_id, f"DHCP agent {agent_id} is disabled (admin_state_up is "
                                   "False); enable it before adding networks to it.")


class InvalidInput(NeutrinoError):
    """Bad request data (400)."""


class Conflict(NeutrinoError):
    """The request is valid but clashes with the current state (409)."""


class NetworkInUse(Conflict):
    pass


class SubnetInUse(Conflict):
    pass


class IpAddressInUse(Conflict):
    pass


class MacAddressInUse(Conflict):
    pass


class AddressExhausted(Conflict):
    pass


class NetworkAlreadyHosted(Conflict):
    pass


class NetworkNotHosted(Conflict):
    pass


class SegmentUnreachable(Conflict):
    """A DHCP agent whose host has no live L2 agent able to carry the network's segment."""


class NoMoveTarget(Conflict):
    """No live, enabled DHCP agent that reaches the network's segment can take it."""


class MoveTargetUnusable(Conflict):
    """The requested target of a move cannot take the network (not alive, the source)."""


class SegmentsExhausted(NeutrinoError):
    """No free segmentation id in the configured ranges (503, as Neutron)."""


class DatabaseUnavailable(NeutrinoError):
    """The database cannot be reached (503, with Retry-After): the caller should retry."""

    def __init__(self, reason: str) -> None:
        self.reason = reason  # the driver's words, for the log; callers get the sentence
        super().__init__("The server cannot reach its database, so it could not complete the "
                         "request; retry in a few seconds.")


class NotAuthenticated(NeutrinoError):
    pass


class PolicyNotAuthorized(NeutrinoError):
    pass
