"""The port and network status rule, with plain data (neutrino/port_status.py)."""
from __future__ import annotations

import pytest

from neutrino.port_status import (
    ACTIVE,
    DOWN,
    DhcpCopy,
    PortFacts,
    follows_wiring,
    missing,
    network_status,
    port_status,
)


def port(status: str = DOWN, *, up: bool = True, host: str = "HostA", wired: str = "HostA",
         written: int = 5) -> PortFacts:
    return PortFacts(status=status, admin_state_up=up, binding_host_id=host,
                     wired_host=wired, written_revision=written)


A5, B5, B4 = DhcpCopy("a", 5), DhcpCopy("b", 5), DhcpCopy("b", 4)
NEW = DhcpCopy("c", None)  # bound, confirmed nothing yet


@pytest.mark.parametrize(("facts", "copies", "expected"), [
    # Wired on its host and loaded by every hosting agent.
    (port(), [A5, B5], ACTIVE),
    (port(), [A5, DhcpCopy("b", 9)], ACTIVE),
    # No DHCP agent hosts the network: nothing to wait for but the wiring.
    (port(), [], ACTIVE),
    # One agent has not loaded the port as written yet.
    (port(), [A5, B4], DOWN),
    (port(ACTIVE), [A5, B4], DOWN),  # e.g. its addresses changed: loaded again first
    # Not wired, wired on another host (moved), not bound, administratively down.
    (port(wired=""), [A5], DOWN),
    (port(wired="HostB"), [A5], DOWN),
    (port(host="", wired=""), [A5], DOWN),
    (port(ACTIVE, up=False), [A5], DOWN),
    (port(ACTIVE, wired=""), [A5], DOWN),  # unplugged
    # A newly bound agent does not flap an ACTIVE port, but holds back one not ACTIVE yet.
    (port(ACTIVE), [A5, NEW], ACTIVE),
    (port(DOWN), [A5, NEW], DOWN),
    (port(ACTIVE), [NEW], ACTIVE),
    (port(ACTIVE), [B4, NEW], DOWN),
])
def test_port_status(facts: PortFacts, copies: list[DhcpCopy], expected: str) -> None:
    assert port_status(facts, copies) == expected


def test_missing_names_the_agents_still_loading() -> None:
    assert missing(port(), [A5, B4, NEW]) == ["b", "c"]


@pytest.mark.parametrize(("admin_up", "copies", "expected"), [
    (True, [], ACTIVE),
    (True, [NEW], DOWN),
    (True, [NEW, B4], ACTIVE),  # one agent serves it (at any revision)
    (True, [A5, B5], ACTIVE),
    (False, [A5], DOWN),
    (False, [], DOWN),
])
def test_network_status(admin_up: bool, copies: list[DhcpCopy], expected: str) -> None:
    assert network_status(admin_up, copies) == expected


@pytest.mark.parametrize(("owner", "expected"), [
    ("compute:nova", True), ("compute:az1", True), ("network:dhcp", False),
    ("", False), ("network:router_interface", False), ("computer", False)])
def test_only_compute_ports_follow_wiring(owner: str, expected: bool) -> None:
    assert follows_wiring(owner) is expected
