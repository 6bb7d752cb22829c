"""When a DHCP agent's binding to a network is READY: the one rule, pure.

An agent reports, per network, the revision its dnsmasq serves (networks_applied, stored as
the binding's `applied_revision`). A binding is ready once that revision is at or after the
network's revision when the binding was made (`bound_revision`): the agent has loaded the
network since it was given it. A later change of the network does not make it unready,
since the agent still serves the network while it loads the change. Bindings made before
`bound_revision` existed (NULL) are ready once they confirmed anything.

A dnsmasq that runs is not yet one the VMs reach: where the host has an L2 agent, its
DHCP port must also be wired (the L2 agent reported its tap in a bridge with the segment's
uplink: neutrino/agent/l2_plan.py wired_ports). Without this, a move to a host that had
no bridge for the network yet would drop the old agent a moment before the new one can be
heard (seen in tests/e2e/test_moves_e2e.py).

Moves (services/moves.py) keep the old binding until the new one is ready, and the API
shows each binding's state: ready, loading, or leaving (ready, removed once its
replacement is ready).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

READY = "ready"
LOADING = "loading"
LEAVING = "leaving"


def is_ready(applied_revision: int | None, bound_revision: int | None,
             wired: bool | None = None) -> bool:
    """True when the agent confirmed serving the network since it was bound to it, and its
    DHCP port is wired (`wired` None: its host has no L2 agent, nothing to wait for)."""
    if applied_revision is None or wired is False:
        return False
    return bound_revision is None or applied_revision >= bound_revision


def binding_state(applied_revision: int | None, bound_revision: int | None,
                  leaving: bool, wired: bool | None = None) -> str:
    """What the API shows for one binding."""
    if not is_ready(applied_revision, bound_revision, wired):
        return LOADING
    return LEAVING if leaving else READY


@dataclass(frozen=True)
class BindingFacts:
    agent_id: str
    applied_revision: int | None
    bound_revision: int | None
    wired: bool | None = None

    @property
    def ready(self) -> bool:
        return is_ready(self.applied_revision, self.bound_revision, self.wired)


def removal_waits_for(removed: BindingFacts, others: Sequence[BindingFacts]) -> str | None:
    """The binding a removal must wait for (make-before-break), or None to remove now.

    A removal waits only when it would take away the last ready binding while another
    binding is still loading: then the loading one is the replacement. Removing a binding
    that serves nothing, or one beside another ready binding, loses no DHCP request; and
    removing the only binding is the operator's explicit choice, as in Neutron.
    """
    if not removed.ready or any(b.ready for b in others):
        return None
    loading = sorted(b.agent_id for b in others)
    return loading[0] if loading else None
