"""The address reuse quarantine, in the caller's transaction (docs/operations.md).

A freed address waits for every DHCP agent that may still lease it to its old MAC: the agents
bound to the network when it was freed, and those unbound from it within the quarantine that
have not confirmed tearing it down. An agent settles its waits by confirming a network
revision at or after the freeing (networks_applied). Allocation reads the waits; the choice
itself is ipam.candidate_addresses.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from neutrino import ipam
from neutrino.agent_protocol.messages import NetworkApplied
from neutrino.db.models import (
    DhcpUnbinding,
    IpQuarantine,
    IpQuarantineWait,
    NetworkDhcpAgentBinding,
)
from neutrino.db.session import Database
from neutrino.services.clock import utcnow

# Keeps IN lists well below every database's limit on bound parameters.
CHUNK = 500


def waiting_agents(session: Session, network_id: str, now: datetime,
                   quarantine: timedelta) -> set[str]:
    """DHCP agents that may lease the network's addresses to the MACs they had."""
    bound = set(session.scalars(select(NetworkDhcpAgentBinding.dhcp_agent_id).where(
        NetworkDhcpAgentBinding.network_id == network_id)))
    unbound = set(session.scalars(select(DhcpUnbinding.dhcp_agent_id).where(
        DhcpUnbinding.network_id == network_id, DhcpUnbinding.unbound_at > now - quarantine)))
    return bound | unbound


def free(session: Session, network_id: str, revision: int,
         addresses: Iterable[tuple[str, str]], now: datetime, quarantine: timedelta) -> None:
    """Quarantine (subnet_id, ip) pairs a port just released; `revision` is the network's
    revision once this transaction commits (the caller holds the network row's lock)."""
    addresses = sorted(set(addresses))
    if not addresses or quarantine <= timedelta(0):
        return  # quarantine 0: Neutron's immediate reuse
    agents = sorted(waiting_agents(session, network_id, now, quarantine))
    for subnet_id, ip in addresses:
        forget(session, subnet_id, ip)
        session.add(IpQuarantine(subnet_id=subnet_id, ip_address=ip, network_id=network_id,
                                 freed_at=now, freed_revision=revision))
    session.flush()  # the parents first: the waits' foreign key names them
    session.add_all(IpQuarantineWait(subnet_id=subnet_id, ip_address=ip, dhcp_agent_id=agent,
                                     network_id=network_id, freed_revision=revision)
                    for subnet_id, ip in addresses for agent in agents)


def forget(session: Session, subnet_id: str, ip: str) -> None:
    """The address is taken again (an explicit fixed IP, or chosen as reusable)."""
    where = (IpQuarantineWait.subnet_id == subnet_id, IpQuarantineWait.ip_address == ip)
    session.execute(delete(IpQuarantineWait).where(*where))
    session.execute(delete(IpQuarantine).where(IpQuarantine.subnet_id == subnet_id,
                                               IpQuarantine.ip_address == ip))


def freed_in(session: Session, subnet_id: str) -> list[ipam.FreedAddress]:
    """The subnet's quarantined addresses, with whether any agent is still waited for."""
    # One query (a port's creation asks this on its way): the waits as an EXISTS column.
    waited = exists().where(IpQuarantineWait.subnet_id == IpQuarantine.subnet_id,
                            IpQuarantineWait.ip_address == IpQuarantine.ip_address)
    rows = session.execute(select(IpQuarantine.ip_address, IpQuarantine.freed_at, waited)
                           .where(IpQuarantine.subnet_id == subnet_id))
    return [ipam.FreedAddress(ip, freed_at, bool(wait)) for ip, freed_at, wait in rows]


def settle(session: Session, agent_id: str, applied: Sequence[NetworkApplied]) -> None:
    """An agent's confirmations: drop its waits they cover, note the revision it serves."""
    by_network = {item.network_id: item for item in applied}  # the last one of each wins
    ids = sorted(by_network)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        waited = set(session.scalars(select(IpQuarantineWait.network_id).where(
            IpQuarantineWait.dhcp_agent_id == agent_id,
            IpQuarantineWait.network_id.in_(chunk)).distinct()))
        for network_id in sorted(waited):
            item = by_network[network_id]
            query = delete(IpQuarantineWait).where(
                IpQuarantineWait.dhcp_agent_id == agent_id,
                IpQuarantineWait.network_id == network_id)
            if item.serving:
                # Torn down settles everything; serving settles what this revision covers.
                query = query.where(IpQuarantineWait.freed_revision <= item.revision_number)
            session.execute(query)
        gone = [n for n in chunk if not by_network[n].serving]
        if gone:
            session.execute(delete(DhcpUnbinding).where(
                DhcpUnbinding.dhcp_agent_id == agent_id, DhcpUnbinding.network_id.in_(gone)))
        for binding in session.scalars(select(NetworkDhcpAgentBinding).where(
                NetworkDhcpAgentBinding.dhcp_agent_id == agent_id,
                NetworkDhcpAgentBinding.network_id.in_(chunk))):
            item = by_network[binding.network_id]
            revision = item.revision_number if item.serving else None
            if binding.applied_revision != revision:
                binding.applied_revision = revision


def note_unbound(session: Session, network_id: str, agent_id: str, now: datetime) -> None:
    """Remember an unbinding until the agent confirms its teardown (or the quarantine ends)."""
    row = session.get(DhcpUnbinding, (network_id, agent_id))
    if row is None:
        session.add(DhcpUnbinding(network_id=network_id, dhcp_agent_id=agent_id,
                                  unbound_at=now))
    else:
        row.unbound_at = now


def note_unbound_many(session: Session, pairs: Sequence[tuple[str, str]], now: datetime
                      ) -> None:
    """note_unbound for many (network, agent) pairs in two statements (failover's batches)."""
    if not pairs:
        return
    wanted = set(pairs)
    found = {(row.network_id, row.dhcp_agent_id): row for row in session.scalars(
        select(DhcpUnbinding).where(DhcpUnbinding.network_id.in_(sorted({n for n, _ in wanted}))))
        if (row.network_id, row.dhcp_agent_id) in wanted}
    for network_id, agent_id in sorted(wanted):
        row = found.get((network_id, agent_id))
        if row is None:
            session.add(DhcpUnbinding(network_id=network_id, dhcp_agent_id=agent_id,
                                      unbound_at=now))
        else:
            row.unbound_at = now


def prune(session: Session, now: datetime, quarantine: timedelta) -> int:
    """Drop what the quarantine no longer needs; returns how many addresses left it.

    Past the quarantine an address is reusable whether its waits settled or not, and a
    forgotten address ranks with the never-freed ones, which is where it belongs by then.
    """
    limit = now - quarantine
    # The waits go with their address: ON DELETE CASCADE (SQLite runs with foreign_keys=ON).
    result = session.execute(delete(IpQuarantine).where(IpQuarantine.freed_at <= limit))
    session.execute(delete(DhcpUnbinding).where(DhcpUnbinding.unbound_at <= limit))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_expired(db: Database, quarantine: timedelta) -> int:
    """prune() in a transaction of its own, as of now (the server's housekeeping loop)."""
    return db.run(lambda session: prune(session, utcnow(), quarantine))
