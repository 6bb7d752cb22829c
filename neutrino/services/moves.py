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
    Conflict,
    MoveTargetUnusable,
    NetworkNotFound,
    NetworkNotHosted,
    NoMoveTarget,
    NotFound,
)
from neutrino.neutron_names import AGENT_TYPE_LINUXBRIDGE, DEVICE_OWNER_DHCP
from neutrino.scheduler import moves as plan
from neutrino.scheduler.liveness import is_alive, judged_dead, silent_while_heard
from neutrino.scheduler.readiness import (
    LEAVING,
    LOADING,
    READY,
    BindingFacts,
    binding_state,
    removal_waits_for,
)
from neutrino.services import binding_changes, history, statuses
from neutrino.services.bindings import Bindings
from neutrino.services.clock import api_time, utcnow
from neutrino.services.history import SERVER, Actor
from neutrino.services.networks import load_network, lock_networks

LOG = logging.getLogger(__name__)
# Moves looked at per query of `check` and `after_confirmations`.
CHUNK = 500
# Moves started per transaction by drain and rebalance (request_many): a thousand networks
# in five transactions, each short enough not to hold its network locks for long.
MOVE_BATCH = 200
# Moves finished (or re-targeted) per transaction: fewer than MOVE_BATCH, since each step
# costs more statements and holds its network's lock meanwhile.
ADVANCE_BATCH = 50
# What the API shows for the target's binding of a stuck move, and for the move itself.
STUCK = "stuck"
# Every state a binding can show (agent-show counts each as networks_<state>).
BINDING_STATES = (READY, LOADING, LEAVING, STUCK)


@dataclass(frozen=True)
class MoveInfo:
    network_id: str
    from_agent_id: str
    to_agent_id: str | None  # None: the source was removed at once (nothing to wait for)
    reason: str
    requested_at: datetime | None
    done: bool  # the source's binding is gone already
    stuck_since: datetime | None = None  # reported stuck: timed out, no other agent to try

    def view(self) -> dict[str, Any]:
        return {"network_id": self.network_id, "from_agent_id": self.from_agent_id,
                "to_agent_id": self.to_agent_id, "reason": self.reason,
                "requested_at": api_time(self.requested_at) if self.requested_at else None,
                "state": "done" if self.done else STUCK if self.stuck_since else "pending",
                "stuck_since": api_time(self.stuck_since) if self.stuck_since else None}


@dataclass(frozen=True)
class MoveRequest:
    """One move for request_many: network, source, target (None: the least loaded that may
    take it), its reason; `reach_checked`: the caller chose the target with Bindings.reach."""

    network_id: str
    from_agent_id: str
    to_agent_id: str | None = None
    reason: str = ""
    reach_checked: bool = False


# A move request_many did not start: why, as the per-move path would have raised it.
Refusal = Conflict | NotFound


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


def shown_state(facts: BindingFacts, leaving: bool, stuck_target: bool) -> str:
    """A binding's state as the API and the dashboard show it: the ready rule's
    (scheduler/readiness.py), and `stuck` for a stuck move's target that is still loading."""
    state = binding_state(facts.applied_revision, facts.bound_revision, leaving, facts.wired)
    return STUCK if stuck_target and state == LOADING else state



def _info(row: NetworkMove, done: bool = False) -> MoveInfo:
    return MoveInfo(row.network_id, row.from_agent_id, row.to_agent_id, row.reason,
                    row.requested_at, done, row.stuck_since)


def target_since(row: NetworkMove) -> datetime:
    """Since when the move's current target loads (rows older than 0017: the request)."""
    return row.target_since or row.requested_at


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
        [result] = self.request_many(session, [MoveRequest(
            network_id, from_agent_id, to_agent_id, reason, reach_checked)], now)
        if isinstance(result, Conflict | NotFound):
            raise result
        return result

    def request_many(self, session: Session, requests: Sequence[MoveRequest],
                     now: datetime) -> list[MoveInfo | Refusal]:
        """Start these moves in the caller's transaction, with one read of their networks,
        bindings, moves and agents for all: per request (in order) its move, or why it was
        not started (nothing of it written). Locks the networks in id order."""
        nets = lock_networks(session, (r.network_id for r in requests))
        facts = facts_of(session, list(nets))
        pending = {(row.network_id, row.from_agent_id): row for row in session.scalars(
            select(NetworkMove).where(NetworkMove.network_id.in_(list(nets))))} if nets else {}
        agent_ids = sorted({a for r in requests for a in (r.from_agent_id, r.to_agent_id) if a})
        # Into the session's identity map: the checks' session.get reads no more rows.
        list(session.scalars(select(Agent).where(Agent.id.in_(agent_ids))))
        results: list[MoveInfo | Refusal] = []
        started: list[NetworkMove] = []
        for req in requests:
            try:
                if req.network_id not in nets:
                    raise NetworkNotFound(req.network_id)
                row = pending.get((req.network_id, req.from_agent_id))
                if row is not None:
                    results.append(_info(row))
                    continue
                row = self._start(session, req, facts[req.network_id], now)
            except (Conflict, NotFound) as exc:
                results.append(exc)
                continue
            pending[(row.network_id, row.from_agent_id)] = row
            started.append(row)
            results.append(_info(row))
        if not started:
            return results
        session.flush()
        statuses.refresh_networks(session, [r.network_id for r in started])
        # A source that serves nothing goes at once.
        over = {(r.network_id, r.from_agent_id) for r in started
                if not facts[r.network_id][r.from_agent_id].ready
                and self._step(session, r.network_id, r.from_agent_id, now)}
        return [replace(r, done=True) if isinstance(r, MoveInfo)
                and (r.network_id, r.from_agent_id) in over else r for r in results]

    def _start(self, session: Session, req: MoveRequest, facts: dict[str, BindingFacts],
               now: datetime) -> NetworkMove:
        """Check one move as `request` does and write it (binding the target if needed);
        `facts` (the network's bindings) is updated with the new one."""
        network_id, from_agent_id, to_agent_id = (req.network_id, req.from_agent_id,
                                                  req.to_agent_id)
        source = self.bindings._dhcp_agent(session, from_agent_id)
        if from_agent_id not in facts:
            raise NetworkNotHosted(f"The network {network_id} is not hosted by the DHCP "
                                   f"agent {from_agent_id}.")
        if to_agent_id is None:
            to_agent_id = self._choose(session, network_id, set(facts), from_agent_id, now)
            if to_agent_id is None:
                raise NoMoveTarget(
                    f"No live, enabled DHCP agent that reaches the segment of network "
                    f"{network_id} can take it from DHCP agent {from_agent_id}; it stays.")
        elif to_agent_id not in facts:
            self._check_target(session, to_agent_id, from_agent_id, network_id, now,
                               req.reach_checked)
        if to_agent_id == from_agent_id:
            raise MoveTargetUnusable(f"DHCP agent {to_agent_id} cannot take network "
                                     f"{network_id} from itself.")
        if to_agent_id not in facts:
            self.bindings._bind(session, network_id, to_agent_id, now)
            revision = session.get(Network, network_id)
            facts[to_agent_id] = BindingFacts(
                to_agent_id, None, revision.revision_number if revision else None)
        row = NetworkMove(network_id=network_id, from_agent_id=from_agent_id,
                          to_agent_id=to_agent_id, reason=req.reason[:255], requested_at=now,
                          target_since=now)
        session.add(row)
        LOG.info("network %s moving from DHCP agent %s on %s to %s (%s)", network_id,
                 from_agent_id, source.host, to_agent_id, req.reason or "no reason given")
        return row

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
        step = self._next_step(facts, from_agent_id, row.to_agent_id, source, target, now,
                               target_since(row))
        net = session.get(Network, network_id)
        if step == plan.WAIT:
            return False
        if step == plan.TIME_OUT and target is not None:
            return self._time_out(session, row, facts, target, now)
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
                   target: AgentLiveness | None, now: datetime, since: datetime) -> str:
        hearing = self.hearing_since()
        down = self.settings.agent_down_time
        usable = target is not None and target.admin_state_up and not silent_while_heard(
            target.heartbeat_timestamp, now, hearing, down)
        source_dead = source is not None and judged_dead(
            source.heartbeat_timestamp, now, hearing, down, self.settings.dhcp_failover_grace)
        return plan.move_step(facts.get(from_agent_id), facts.get(to_agent_id), usable,
                              source_dead,
                              plan.timed_out(since, now, self.settings.dhcp_move_timeout))

    def _time_out(self, session: Session, row: NetworkMove, facts: dict[str, BindingFacts],
                  target: Agent, now: datetime) -> bool:
        """A target alive but not ready within dhcp_move_timeout: retry on another agent,
        or report the move stuck once (log, history); the source serves on either way."""
        network_id, source_id, old_id = row.network_id, row.from_agent_id, row.to_agent_id
        other = self._choose(session, network_id, set(facts) - {old_id}, source_id, now,
                             avoid={old_id})
        action = plan.stuck_action(row.stuck_since is not None, other)
        if action == plan.KEEP:
            return False
        waited = (now - target_since(row)).total_seconds()
        if action == plan.REPORT:
            row.stuck_since = now
            why = (f"target on {target.host} not ready after {waited:.0f} s; no other agent "
                   "can take it, the old agent keeps serving")
        else:
            new_host = session.get(Agent, other)
            why = (f"target on {target.host} not ready after {waited:.0f} s; retried on "
                   f"{new_host.host if new_host else other}")
        LOG.warning("move of network %s from DHCP agent %s to %s stuck: %s (%s)", network_id,
                    source_id, old_id, why, row.reason or "move")
        history.note(session, history.STUCK, reason=why, network_id=network_id,
                     from_agent=source_id, to_agent=old_id, host=target.host, now=now)
        if action == plan.REPORT:
            return False
        return self._retarget(session, row, facts, target, now, other)

    def _retarget(self, session: Session, row: NetworkMove, facts: dict[str, BindingFacts],
                  old: Agent | None, now: datetime, chosen: str | None = None) -> bool:
        """Move to another target (`chosen`, or the best now), dropping the old target's
        binding if it serves nothing yet; give the move up if there is none."""
        # Read before any unbind below: it deletes the row.
        network_id, source_id, old_id = row.network_id, row.from_agent_id, row.to_agent_id
        reason, requested_at = row.reason, row.requested_at
        net = session.get(Network, network_id)
        assert net is not None
        loading = old is not None and old_id in facts and not facts[old_id].ready
        hosts = set(facts) - ({old_id} if loading else set())
        new = chosen or self._choose(session, network_id, hosts, source_id, now,
                                     avoid={old_id})
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
                                to_agent_id=new, reason=reason, requested_at=requested_at,
                                target_since=now))
        statuses.refresh_networks(session, [network_id])
        LOG.warning("move of network %s from DHCP agent %s re-targeted from %s to %s",
                    network_id, source_id, old_id, new)
        return False

    def _advance(self, pairs: Sequence[tuple[str, str]]) -> int:
        """Advance these moves, ADVANCE_BATCH networks per transaction (locked in id
        order); returns how many are over."""
        ordered = sorted(set(pairs))
        over = 0
        for start in range(0, len(ordered), ADVANCE_BATCH):
            batch = ordered[start:start + ADVANCE_BATCH]

            def work(session: Session, batch: list[tuple[str, str]] = batch) -> int:
                present = lock_networks(session, (n for n, _ in batch))
                now = utcnow()
                # A network gone took its moves with it (ON DELETE CASCADE): over.
                return sum(1 for network_id, from_agent_id in batch
                           if network_id not in present
                           or self._step(session, network_id, from_agent_id, now))
            over += self.db.run(work)
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
        """The periodic pass over every pending move (finish, re-target, time out).

        One read decides which moves have something to do; only those take a transaction
        (and their network's lock), so a drain of thousands waiting costs a few queries, and
        a move reported stuck takes one only once another agent could take its network."""
        now = utcnow()
        with self.db.session() as session:
            rows = list(session.execute(
                select(NetworkMove.network_id, NetworkMove.from_agent_id,
                       NetworkMove.to_agent_id, NetworkMove.requested_at,
                       NetworkMove.target_since, NetworkMove.stuck_since)
                .order_by(NetworkMove.requested_at)))
            if not rows:
                return 0
            facts = facts_of(session, [r.network_id for r in rows])
            agents = {a.id: a for a in session.execute(
                select(Agent.id, Agent.admin_state_up, Agent.heartbeat_timestamp).where(
                    Agent.id.in_(sorted({i for r in rows
                                         for i in (r.from_agent_id, r.to_agent_id)}))))}
            steps = {(r.network_id, r.from_agent_id): self._next_step(
                facts[r.network_id], r.from_agent_id, r.to_agent_id,
                agents.get(r.from_agent_id), agents.get(r.to_agent_id), now,
                r.target_since or r.requested_at) for r in rows}
            reported = [r for r in rows if r.stuck_since is not None
                        and steps[(r.network_id, r.from_agent_id)] == plan.TIME_OUT]
            others = self._others(session, reported, facts, now) if reported else {}
        pairs = [key for key, step in steps.items()
                 if (others[key] != plan.KEEP if key in others else step != plan.WAIT)]
        return self._advance(pairs) if pairs else 0

    def _others(self, session: Session, rows: Sequence[Any],
                facts: dict[str, dict[str, BindingFacts]], now: datetime
                ) -> dict[tuple[str, str], str]:
        """For moves reported stuck: what each would do now (stuck_action), from one read
        of the agents for all of them."""
        ids = sorted({r.network_id for r in rows})
        candidates = self.bindings.snapshots(session, now)
        reach = self.bindings.reach(session, now, candidates, ids)
        zones = self.bindings.zones(session, ids)
        return {(r.network_id, r.from_agent_id): plan.stuck_action(True, plan.choose_target(
            r.network_id, set(facts[r.network_id]) - {r.to_agent_id}, r.from_agent_id,
            candidates, reach, self.rng, {r.to_agent_id}, zones)) for r in rows}

    def states_of_network(self, network_id: str) -> dict[str, str]:
        """agent id -> state of its binding to the network (ready, loading, leaving,
        stuck: the target of a move reported stuck, still loading)."""
        with self.db.session() as session:
            moves = list(session.execute(select(
                NetworkMove.from_agent_id, NetworkMove.to_agent_id, NetworkMove.stuck_since)
                .where(NetworkMove.network_id == network_id)))
            leaving = {m.from_agent_id for m in moves}
            stuck = {m.to_agent_id for m in moves if m.stuck_since is not None}
            return {a: shown_state(f, a in leaving, a in stuck)
                    for a, f in binding_facts(session, network_id).items()}

    def states_on_agent(self, agent_id: str) -> dict[str, str]:
        """network id -> state of the agent's binding to it."""
        with self.db.session() as session:
            leaving = set(session.scalars(select(NetworkMove.network_id).where(
                NetworkMove.from_agent_id == agent_id)))
            stuck = set(session.scalars(select(NetworkMove.network_id).where(
                NetworkMove.to_agent_id == agent_id, NetworkMove.stuck_since.is_not(None))))
            networks = list(session.scalars(select(NetworkDhcpAgentBinding.network_id).where(
                NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)))
            facts = facts_of(session, networks)
            return {n: shown_state(facts[n][agent_id], n in leaving, n in stuck) for n in networks}

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
