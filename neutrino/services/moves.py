"""Make-before-break moves of a network between DHCP agents, persisted (`networkmoves`).

A move X -> Y binds Y at once and keeps X's binding until Y's binding is ready
(scheduler/readiness.py), then removes X's. The move is a row, so a restarted server or
another replica finishes it: when Y confirms the network (networks_applied calls
`after_confirmations`) and in the periodic `check`. A target that dies or is disabled
before it is ready is replaced by another agent, or the move is given up (X keeps serving);
the last serving binding is never dropped. Drain and rebalance move networks through
`request`; the API's binding removal goes through `remove`.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding, NetworkMove, Port
from neutrino.db.session import Database
from neutrino.errors import (
    AgentDisabled,
    MoveTargetUnusable,
    NetworkNotFound,
    NetworkNotHosted,
    NoMoveTarget,
)
from neutrino.neutron_names import AGENT_TYPE_LINUXBRIDGE, DEVICE_OWNER_DHCP
from neutrino.scheduler import moves as plan
from neutrino.scheduler.liveness import is_alive, judged_dead, silent_while_heard
from neutrino.scheduler.readiness import BindingFacts, binding_state, removal_waits_for
from neutrino.services import binding_changes, history, statuses
from neutrino.services.bindings import Bindings
from neutrino.services.clock import api_time, utcnow
from neutrino.services.history import SERVER, Actor
from neutrino.services.networks import load_network

LOG = logging.getLogger(__name__)
# Moves looked at per query of `check` and `after_confirmations`.
CHUNK = 500


@dataclass(frozen=True)
class MoveInfo:
    network_id: str
    from_agent_id: str
    to_agent_id: str | None  # None: the source was removed at once (nothing to wait for)
    reason: str
    requested_at: datetime | None
    done: bool  # the source's binding is gone already

    def view(self) -> dict[str, Any]:
        return {"network_id": self.network_id, "from_agent_id": self.from_agent_id,
                "to_agent_id": self.to_agent_id, "reason": self.reason,
                "requested_at": api_time(self.requested_at) if self.requested_at else None,
                "state": "done" if self.done else "pending"}


def facts_of(session: Session, network_ids: Sequence[str]
             ) -> dict[str, dict[str, BindingFacts]]:
    """Per network, each binding as the ready rule sees it (scheduler/readiness.py): the
    revisions, and whether the agent's DHCP port is wired where its host has an L2 agent."""
    ids = sorted(set(network_ids))
    result: dict[str, dict[str, BindingFacts]] = {n: {} for n in ids}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = session.execute(select(
            NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id,
            NetworkDhcpAgentBinding.applied_revision, NetworkDhcpAgentBinding.bound_revision,
            Agent.host).join(Agent, Agent.id == NetworkDhcpAgentBinding.dhcp_agent_id)
            .where(NetworkDhcpAgentBinding.network_id.in_(chunk))).all()
        hosts = sorted({row[4] for row in rows})
        with_l2 = set(session.scalars(select(Agent.host).where(
            Agent.agent_type == AGENT_TYPE_LINUXBRIDGE, Agent.host.in_(hosts)))) if hosts \
            else set()
        wired = {(n, h) for n, h in session.execute(select(Port.network_id, Port.wired_host)
                 .where(Port.network_id.in_(chunk), Port.device_owner == DEVICE_OWNER_DHCP,
                        Port.wired_host == Port.binding_host_id))}
        for network_id, agent_id, applied, bound, host in rows:
            result[network_id][agent_id] = BindingFacts(
                agent_id, applied, bound,
                ((network_id, host) in wired) if host in with_l2 else None)
    return result


def binding_facts(session: Session, network_id: str) -> dict[str, BindingFacts]:
    return facts_of(session, [network_id])[network_id]


class AgentLiveness(Protocol):
    """What a move's step reads of an agent (an Agent row or a plain select of it)."""

    @property
    def admin_state_up(self) -> bool: ...

    @property
    def heartbeat_timestamp(self) -> datetime: ...


def change_reason(reason: str) -> str:
    """The metrics' reason (services/binding_changes.py, a fixed set) for a move's text."""
    for known in ("drain", "rebalance", "failover"):
        if reason.startswith(known):
            return known
    return "removed"


def history_kind(reason: str) -> str:
    """The agent history's kind (services/history.py) for a finished move's text."""
    return {"drain": history.DRAIN, "rebalance": history.REBALANCE}.get(
        change_reason(reason), history.MOVE)


def _state(facts: BindingFacts, leaving: bool) -> str:
    return binding_state(facts.applied_revision, facts.bound_revision, leaving, facts.wired)


def _info(row: NetworkMove, done: bool = False) -> MoveInfo:
    return MoveInfo(row.network_id, row.from_agent_id, row.to_agent_id, row.reason,
                    row.requested_at, done)


class Moves:
    def __init__(self, db: Database, settings: ServerSettings, bindings: Bindings,
                 rng: random.Random, hearing_since: Callable[[], datetime | None]) -> None:
        self.db = db
        self.settings = settings
        self.bindings = bindings
        self.rng = rng
        self.hearing_since = hearing_since

    # ---- the primitive ----------------------------------------------------------------------

    def request(self, network_id: str, from_agent_id: str, to_agent_id: str | None = None,
                reason: str = "") -> MoveInfo:
        """Move a network off `from_agent_id`, make-before-break, to `to_agent_id` (None:
        the least loaded agent that may take it); returns at once, the move finishes later.
        Asking again for a move in progress returns it unchanged."""
        def work(session: Session) -> MoveInfo:
            load_network(session, network_id, lock=True)
            return self.request_in(session, network_id, from_agent_id, to_agent_id, reason,
                                   utcnow())
        return self.db.run(work)

    def request_in(self, session: Session, network_id: str, from_agent_id: str,
                   to_agent_id: str | None, reason: str, now: datetime,
                   reach_checked: bool = False) -> MoveInfo:
        """`request` inside the caller's transaction; the caller has locked the network.
        `reach_checked`: the caller chose the target with Bindings.reach just now."""
        source = self.bindings._dhcp_agent(session, from_agent_id)
        facts = binding_facts(session, network_id)
        if from_agent_id not in facts:
            raise NetworkNotHosted(f"The network {network_id} is not hosted by the DHCP "
                                   f"agent {from_agent_id}.")
        pending = session.get(NetworkMove, (network_id, from_agent_id))
        if pending is not None:
            return _info(pending)
        if to_agent_id is None:
            to_agent_id = self._choose(session, network_id, set(facts), from_agent_id, now)
            if to_agent_id is None:
                raise NoMoveTarget(
                    f"No live, enabled DHCP agent that reaches the segment of network "
                    f"{network_id} can take it from DHCP agent {from_agent_id}; it stays.")
        elif to_agent_id not in facts:
            self._check_target(session, to_agent_id, from_agent_id, network_id, now,
                               reach_checked)
        if to_agent_id == from_agent_id:
            raise MoveTargetUnusable(f"DHCP agent {to_agent_id} cannot take network "
                                     f"{network_id} from itself.")
        if to_agent_id not in facts:
            self.bindings._bind(session, network_id, to_agent_id, now)
            statuses.refresh_networks(session, [network_id])
        row = NetworkMove(network_id=network_id, from_agent_id=from_agent_id,
                          to_agent_id=to_agent_id, reason=reason[:255], requested_at=now)
        session.add(row)
        session.flush()
        LOG.info("network %s moving from DHCP agent %s on %s to %s (%s)", network_id,
                 from_agent_id, source.host, to_agent_id, reason or "no reason given")
        info = _info(row)
        # A source that serves nothing goes at once.
        done = not facts[from_agent_id].ready and self._step(session, network_id,
                                                             from_agent_id, now)
        return replace(info, done=done)

    def _check_target(self, session: Session, agent_id: str, from_agent_id: str,
                      network_id: str, now: datetime, reach_checked: bool) -> None:
        agent = self.bindings._dhcp_agent(session, agent_id)
        if agent_id == from_agent_id:
            raise MoveTargetUnusable(f"DHCP agent {agent_id} cannot take network "
                                     f"{network_id} from itself.")
        if not agent.admin_state_up:
            raise AgentDisabled(agent_id)
        if not is_alive(agent.heartbeat_timestamp, now, self.settings.agent_down_time):
            raise MoveTargetUnusable(f"DHCP agent {agent_id} on {agent.host} is not alive; a "
                                     "network moves only to an agent that reports.")
        if not reach_checked:
            self.bindings._check_reach(session, agent, network_id)

    def _choose(self, session: Session, network_id: str, hosts: set[str], from_agent: str,
                now: datetime, avoid: set[str] | None = None) -> str | None:
        candidates = self.bindings.snapshots(session, now)
        reach = self.bindings.reach(session, now, candidates, [network_id])
        return plan.choose_target(network_id, hosts, from_agent, candidates, reach, self.rng,
                                  avoid, self.bindings.zones(session, [network_id]))

    # ---- the API's removal ------------------------------------------------------------------

    def remove(self, agent_id: str, network_id: str, actor: Actor = SERVER) -> MoveInfo:
        """dhcp-agent-network-remove: at once, unless it would take away the last ready
        binding while another is loading; then the binding leaves once that one is ready."""
        def work(session: Session) -> MoveInfo:
            agent = self.bindings._dhcp_agent(session, agent_id)
            net = load_network(session, network_id, lock=True)
            return self.remove_in(session, net, agent, "removal requested", actor)
        return self.db.run(work)

    def remove_in(self, session: Session, net: Network, agent: Agent, reason: str,
                  actor: Actor = SERVER) -> MoveInfo:
        """`remove` inside the caller's transaction; the caller has locked the network."""
        facts = binding_facts(session, net.id)
        if agent.id not in facts:
            raise NetworkNotHosted(f"The network {net.id} is not hosted by the DHCP "
                                   f"agent {agent.id}.")
        pending = session.get(NetworkMove, (net.id, agent.id))
        if pending is not None:
            return _info(pending)
        others = [f for a, f in facts.items() if a != agent.id]
        wait_for = removal_waits_for(facts[agent.id], others)
        binding_changes.note(session, change_reason(reason))
        if wait_for is not None:
            return self.request_in(session, net.id, agent.id, wait_for, reason, utcnow())
        self.bindings.drop(session, net, agent)
        history.note(session, history.REMOVED, actor=actor, reason=reason,
                     network_id=net.id, from_agent=agent.id, host=agent.host)
        LOG.info("network %s removed from DHCP agent %s on %s (%s)", net.id, agent.id,
                 agent.host, reason)
        return MoveInfo(net.id, agent.id, None, reason, None, True)

    # ---- finishing ----------------------------------------------------------------------------

    def _step(self, session: Session, network_id: str, from_agent_id: str,
              now: datetime) -> bool:
        """Advance one move (the caller holds the network's lock); True once it is over."""
        row = session.get(NetworkMove, (network_id, from_agent_id))
        if row is None:
            return True
        facts = binding_facts(session, network_id)
        source = session.get(Agent, from_agent_id)
        target = session.get(Agent, row.to_agent_id)
        step = self._next_step(facts, from_agent_id, row.to_agent_id, source, target, now)
        net = session.get(Network, network_id)
        if step == plan.WAIT:
            return False
        if step == plan.FORGET or source is None or net is None:
            session.delete(row)
            return True
        if step == plan.FINISH:
            to_agent_id, reason = row.to_agent_id, row.reason
            # Counted when requested (by the caller, as rebalance and drain do), not here.
            self.bindings.drop(session, net, source)  # deletes the move row too
            history.note(session, history_kind(reason), reason=reason or "move",
                         network_id=network_id, from_agent=from_agent_id,
                         to_agent=to_agent_id, host=target.host if target else None, now=now)
            LOG.info("network %s moved from DHCP agent %s to %s (%s)", network_id,
                     from_agent_id, to_agent_id, reason or "move")
            return True
        return self._retarget(session, row, facts, target, now)

    def _next_step(self, facts: dict[str, BindingFacts], from_agent_id: str,
                   to_agent_id: str, source: AgentLiveness | None,
                   target: AgentLiveness | None, now: datetime) -> str:
        hearing = self.hearing_since()
        down = self.settings.agent_down_time
        usable = target is not None and target.admin_state_up and not silent_while_heard(
            target.heartbeat_timestamp, now, hearing, down)
        source_dead = source is not None and judged_dead(
            source.heartbeat_timestamp, now, hearing, down, self.settings.dhcp_failover_grace)
        return plan.move_step(facts.get(from_agent_id), facts.get(to_agent_id), usable,
                              source_dead)

    def _retarget(self, session: Session, row: NetworkMove, facts: dict[str, BindingFacts],
                  old: Agent | None, now: datetime) -> bool:
        # Read before any unbind below: it deletes the row.
        network_id, source_id, old_id = row.network_id, row.from_agent_id, row.to_agent_id
        reason, requested_at = row.reason, row.requested_at
        net = session.get(Network, network_id)
        assert net is not None
        loading = old is not None and old_id in facts and not facts[old_id].ready
        hosts = set(facts) - ({old_id} if loading else set())
        new = self._choose(session, network_id, hosts, source_id, now, avoid={old_id})
        if loading and old is not None:
            # It serves nothing yet: its binding (and DHCP port) go; so does the row.
            self.bindings.drop(session, net, old)
        else:
            session.delete(row)
        session.flush()
        if new is None:
            LOG.warning("move of network %s from DHCP agent %s given up: target %s cannot "
                        "take it and no other agent can; it stays where it is", network_id,
                        source_id, old_id)
            return True
        if new not in facts:
            self.bindings._bind(session, network_id, new, now)
        session.add(NetworkMove(network_id=network_id, from_agent_id=source_id,
                                to_agent_id=new, reason=reason, requested_at=requested_at))
        statuses.refresh_networks(session, [network_id])
        LOG.warning("move of network %s from DHCP agent %s re-targeted from %s to %s",
                    network_id, source_id, old_id, new)
        return False

    def _advance(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Advance these moves, one transaction each; returns how many are over."""
        over = 0
        for network_id, from_agent_id in pairs:
            def work(session: Session, network_id: str = network_id,
                     from_agent_id: str = from_agent_id) -> bool:
                try:
                    load_network(session, network_id, lock=True)
                except NetworkNotFound:
                    return True  # its moves went with it (ON DELETE CASCADE)
                return self._step(session, network_id, from_agent_id, utcnow())
            over += bool(self.db.run(work))
        return over

    def after_confirmations(self, agent_id: str, network_ids: Sequence[str]) -> int:
        """An agent confirmed these networks: finish the moves to it that are now ready."""
        ids = sorted(set(network_ids))
        pairs: list[tuple[str, str]] = []
        with self.db.session() as session:
            for start in range(0, len(ids), CHUNK):
                pairs += [(n, a) for n, a in session.execute(select(
                    NetworkMove.network_id, NetworkMove.from_agent_id).where(
                    NetworkMove.to_agent_id == agent_id,
                    NetworkMove.network_id.in_(ids[start:start + CHUNK])))]
        return self._advance(pairs) if pairs else 0

    def check(self) -> int:
        """The periodic pass over every pending move (finish, re-target, give up).

        One read decides which moves have something to do; only those take a transaction
        (and their network's lock), so a drain of thousands waiting costs a few queries."""
        now = utcnow()
        with self.db.session() as session:
            rows = [(n, a, t) for n, a, t in session.execute(
                select(NetworkMove.network_id, NetworkMove.from_agent_id,
                       NetworkMove.to_agent_id).order_by(NetworkMove.requested_at))]
            if not rows:
                return 0
            facts = facts_of(session, [n for n, _, _ in rows])
            agents = {a.id: a for a in session.execute(
                select(Agent.id, Agent.admin_state_up, Agent.heartbeat_timestamp).where(
                    Agent.id.in_(sorted({i for _, a, t in rows for i in (a, t)}))))}
        pairs = [(n, a) for n, a, t in rows
                 if self._next_step(facts[n], a, t, agents.get(a), agents.get(t), now)
                 != plan.WAIT]
        return self._advance(pairs) if pairs else 0

    def states_of_network(self, network_id: str) -> dict[str, str]:
        """agent id -> state of its binding to the network (ready, loading, leaving)."""
        with self.db.session() as session:
            leaving = set(session.scalars(select(NetworkMove.from_agent_id).where(
                NetworkMove.network_id == network_id)))
            return {a: _state(f, a in leaving)
                    for a, f in binding_facts(session, network_id).items()}

    def states_on_agent(self, agent_id: str) -> dict[str, str]:
        """network id -> state of the agent's binding to it."""
        with self.db.session() as session:
            leaving = set(session.scalars(select(NetworkMove.network_id).where(
                NetworkMove.from_agent_id == agent_id)))
            networks = list(session.scalars(select(NetworkDhcpAgentBinding.network_id).where(
                NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)))
            facts = facts_of(session, networks)
            return {n: _state(facts[n][agent_id], n in leaving) for n in networks}

    def after_wiring(self, host: str) -> int:
        """The L2 agent of `host` wired ports: finish the moves to its DHCP agent now ready."""
        with self.db.session() as session:
            pairs = [(n, a) for n, a in session.execute(
                select(NetworkMove.network_id, NetworkMove.from_agent_id)
                .join(Agent, Agent.id == NetworkMove.to_agent_id).where(Agent.host == host))]
        return self._advance(pairs) if pairs else 0

    def pending(self, from_agent_id: str | None = None) -> list[MoveInfo]:
        with self.db.session() as session:
            query = select(NetworkMove).order_by(NetworkMove.requested_at,
                                                 NetworkMove.network_id)
            if from_agent_id is not None:
                query = query.where(NetworkMove.from_agent_id == from_agent_id)
            return [_info(row) for row in session.scalars(query)]
