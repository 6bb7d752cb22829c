"""Keeps the stored status of compute ports and networks in step with neutrino/port_status.py.

Called inside the transaction that changed one of the rule's inputs: a port written or
rebound, an L2 agent's wiring report, a DHCP agent's confirmation, a binding added or
removed, a network's admin_state_up. A status change is no change of the network's DHCP
state: it bumps no revision and records no event.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino import port_status
from neutrino.db.models import Network, NetworkDhcpAgentBinding, Port
from neutrino.port_status import DhcpCopy, PortFacts

LOG = logging.getLogger(__name__)
# Networks per query: an IN list of this many ids stays well within every database's limits.
CHUNK = 500


def facts(port: Port) -> PortFacts:
    return PortFacts(status=port.status, admin_state_up=port.admin_state_up,
                     binding_host_id=port.binding_host_id, wired_host=port.wired_host,
                     written_revision=port.dhcp_revision)


def _copies(session: Session, network_ids: list[str]) -> dict[str, list[DhcpCopy]]:
    copies: dict[str, list[DhcpCopy]] = {n: [] for n in network_ids}
    for net_id, agent_id, applied in session.execute(
            select(NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id,
                   NetworkDhcpAgentBinding.applied_revision)
            .where(NetworkDhcpAgentBinding.network_id.in_(network_ids))):
        copies[net_id].append(DhcpCopy(agent_id, applied))
    return copies


def set_port(port: Port, copies: list[DhcpCopy]) -> None:
    """Apply the rule to one compute port (a no-op for other ports)."""
    if not port_status.follows_wiring(port.device_owner):
        return
    status = port_status.port_status(facts(port), copies)
    if status != port.status:
        LOG.info("port %s on network %s is %s (wired on %s; DHCP agents still loading it: "
                 "%s)", port.id, port.network_id, status, port.wired_host or "no host",
                 ", ".join(port_status.missing(facts(port), copies)) or "none")
        port.status = status


def refresh_port(session: Session, port: Port) -> None:
    """Recompute one port after it was written, rebound or reported (un)wired."""
    if port_status.follows_wiring(port.device_owner):
        set_port(port, _copies(session, [port.network_id])[port.network_id])


def copies_of(session: Session, network_id: str) -> list[DhcpCopy]:
    """The network's DHCP copies (its bindings and what each agent confirmed)."""
    return _copies(session, [network_id])[network_id]


def refresh_network(session: Session, net: Network, copies: list[DhcpCopy]) -> None:
    """refresh_networks for one network whose row and copies (with the transaction's own
    binding changes) the caller holds: one query, for its compute ports."""
    _set_network(net, copies)
    for port in session.scalars(select(Port).where(
            Port.network_id == net.id,
            Port.device_owner.startswith(port_status.COMPUTE_PREFIX))):
        set_port(port, copies)


def _set_network(net: Network, copies: list[DhcpCopy]) -> None:
    status = port_status.network_status(net.admin_state_up, copies)
    if status != net.status:
        LOG.info("network %s is %s", net.id, status)
        net.status = status


def refresh_networks(session: Session, network_ids: Iterable[str],
                     port_ids: Collection[str] | None = None) -> None:
    """Recompute the networks' status and their compute ports' (only `port_ids` if given)."""
    ids = sorted(set(network_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        copies = _copies(session, chunk)
        for net in session.scalars(select(Network).where(Network.id.in_(chunk))):
            _set_network(net, copies[net.id])
        query = select(Port).where(Port.network_id.in_(chunk),
                                   Port.device_owner.startswith(port_status.COMPUTE_PREFIX))
        if port_ids is not None:
            query = query.where(Port.id.in_(list(port_ids)))
        for port in session.scalars(query):
            set_port(port, copies[port.network_id])


def devices_wired(session: Session, host: str, up: Collection[str],
                  down: Collection[str]) -> None:
    """An L2 agent's report: which of the ports bound to `host` it wired or unplugged.

    Idempotent; a report about a port bound elsewhere now (moved, deleted) changes nothing.
    """
    up, down = set(up), set(down)
    ids = sorted(up | down)
    touched: dict[str, set[str]] = {}
    for start in range(0, len(ids), CHUNK):
        for port in session.scalars(select(Port).where(Port.id.in_(ids[start:start + CHUNK]))):
            if port.id in up and port.binding_host_id == host:
                wired_host = host
            elif port.id in down and port.wired_host == host:
                wired_host = ""
            else:
                continue
            if port.wired_host != wired_host:
                port.wired_host = wired_host
                touched.setdefault(port.network_id, set()).add(port.id)
    for network_id, port_ids in touched.items():
        refresh_networks(session, [network_id], port_ids)
