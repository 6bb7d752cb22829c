"""Heartbeat coalescing: routine state reports are acknowledged from memory and written to
the database together, a few times a second, instead of one transaction each.

Only while the database answers: a heartbeat acknowledged from memory is a promise that it
will be recorded, and a server that cannot reach its database cannot keep it (another
replica would judge the agent by what is in the database). So while the database is
unreachable every report takes the full path and its caller sees the 503.

A flush that fails keeps its heartbeats and is tried again on the next flush: they are
true observations of when the agents reported, and writing them once the database is
back shows the agents alive at once. (Failover does not depend on it: it ignores silence
while the server could not hear, see scheduler/liveness.py.)
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, select, update
from sqlalchemy.orm import Session

from neutrino.agent_protocol.messages import AgentState, ReportResult
from neutrino.db.models import Agent
from neutrino.db.session import Database
from neutrino.errors import DatabaseUnavailable
from neutrino.neutron_names import AGENT_TYPE_LINUXBRIDGE
from neutrino.scheduler.liveness import is_alive
from neutrino.scheduler.reach import L2Reach, reach_from
from neutrino.services.agent_load import reported_load

LOG = logging.getLogger(__name__)
_AGENTS: Table = Agent.__table__  # type: ignore[assignment]
_HEARTBEAT = (update(_AGENTS).where(_AGENTS.c.id == bindparam("b_id"))
              .values(heartbeat_timestamp=bindparam("b_ts")))
_CONFIGURATIONS = (update(_AGENTS).where(_AGENTS.c.id == bindparam("b_id"))
                   .values(configurations=bindparam("b_conf"), load=bindparam("b_load")))
# Agents per statement: an IN list and a CASE of this many stay within every database's
# limits (SQLite's 32,766 bound parameters among them).
CHUNK = 500


@dataclass
class Pending:
    """A heartbeat heard and not yet written, and whether its configurations are news."""

    when: datetime
    configurations: dict[str, Any]
    load: int  # what the configurations say of [DEFAULT] dhcp_load_type (agent_load.py)
    changed: bool


@dataclass
class KnownAgent:
    id: str
    binary: str
    topic: str
    availability_zone: str | None
    admin_state_up: bool
    heartbeat: datetime
    reach: L2Reach | None  # an L2 agent's: a change is news for scheduling (fleet_snapshot)
    configurations: dict[str, Any]  # as last reported: unchanged ones are not written again
    load: int = 0  # what `configurations` say of the load
    # The bytes of the last routine report taken, as the transport carried it (see
    # offer_raw), keyed by its form: the same bytes again say nothing new.
    raw: RawReport | None = None


# A routine report as its transport carried it: (form, bytes). The form keeps the bytes of
# one transport's message from ever standing for another's ("http", "rabbit").
RawReport = tuple[str, bytes]


class HeartbeatBuffer:
    """Acknowledges reports of agents it knows are registered and alive; flush() writes them.

    Anything that changes more than the heartbeat (a first report, a restart, a revival, a
    new binary or zone) is not taken, so it goes through the full transaction.
    """

    def __init__(self, db: Database, agent_down_time: int, load_type: str = "networks"
                 ) -> None:
        self._db = db
        self._down = agent_down_time
        self._load_type = load_type  # [DEFAULT] dhcp_load_type (services/agent_load.py)
        self._known: dict[tuple[str, str], KnownAgent] = {}
        self._pending: dict[str, Pending] = {}
        # Raw routine reports taken -> the (agent_type, host) that sent them (offer_raw).
        self._raw: dict[RawReport, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def remember(self, state: AgentState, result: ReportResult, now: datetime) -> None:
        key = (state.agent_type, state.host)
        with self._lock:
            self._drop_raw(self._known.get(key))
            self._known[key] = KnownAgent(
                result.agent_id, state.binary, state.topic, state.availability_zone,
                result.admin_state_up, now, _reach(state), state.configurations,
                reported_load(state.agent_type, state.configurations, self._load_type))

    def forget(self, agent_id: str) -> None:
        with self._lock:
            self._pending.pop(agent_id, None)
            for key, known in list(self._known.items()):
                if known.id == agent_id:
                    self._drop_raw(known)
                    del self._known[key]

    def offer(self, state: AgentState, now: datetime, raw: RawReport | None = None
              ) -> ReportResult | None:
        """Take a routine report (None: it needs the full transaction); `raw`, the bytes it
        came as, lets offer_raw take the same bytes again without parsing them."""
        if state.start_flag or not self._db.reachable:
            return None
        with self._lock:
            key = (state.agent_type, state.host)
            known = self._known.get(key)
            if known is None or not is_alive(known.heartbeat, now, self._down) or \
                    (known.binary, known.topic, known.availability_zone) != \
                    (state.binary, state.topic, state.availability_zone) or \
                    (known.reach is not None and known.reach != _reach(state)):
                return None
            if state.configurations != known.configurations:
                known.configurations = state.configurations
                known.load = reported_load(state.agent_type, state.configurations,
                                           self._load_type)
                self._take(known, now, changed=True)
            else:
                self._take(known, now, changed=False)
            if raw is not None and raw != known.raw:
                self._drop_raw(known)
                known.raw = raw
                self._raw[raw] = key
            return ReportResult(agent_id=known.id, admin_state_up=known.admin_state_up)

    def offer_raw(self, raw: RawReport, now: datetime) -> ReportResult | None:
        """Take a report whose bytes are those of the agent's last routine one; None when
        they are not (parse it and offer() it then).

        The hot path of every heartbeat: identical bytes parse to the identical state that
        offer() took, so only what time changes is checked again (liveness, the database).
        """
        if not self._db.reachable:
            return None
        with self._lock:
            key = self._raw.get(raw)
            if key is None:
                return None
            known = self._known[key]
            if not is_alive(known.heartbeat, now, self._down):
                return None
            self._take(known, now, changed=False)
            return ReportResult(agent_id=known.id, admin_state_up=known.admin_state_up)

    def _take(self, known: KnownAgent, now: datetime, changed: bool) -> None:
        """Hold the heartbeat for the next flush (under the lock)."""
        known.heartbeat = now
        earlier = self._pending.get(known.id)
        # A change heard since the last flush stays news until it is written.
        changed = changed or (earlier is not None and earlier.changed)
        self._pending[known.id] = Pending(now, known.configurations, known.load, changed)

    def _drop_raw(self, known: KnownAgent | None) -> None:
        if known is not None and known.raw is not None:
            self._raw.pop(known.raw, None)
            known.raw = None

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0

        def work(session: Session) -> tuple[set[str], dict[str, bool]]:
            return set(pending) - set(states := _write(session, pending)), states

        try:
            missing, states = self._db.run(work)
        except DatabaseUnavailable:
            self._keep(pending)
            raise
        with self._lock:
            for known in self._known.values():
                if known.id in states:
                    known.admin_state_up = states[known.id]
        for agent_id in missing:
            # Deleted through the API meanwhile: its next report registers it anew.
            LOG.info("agent %s was deleted; its next report registers it again", agent_id)
            self.forget(agent_id)
        return len(pending)

    def _keep(self, failed: dict[str, Pending]) -> None:
        """Put back what a failed flush took, unless a newer report of the agent came in."""
        with self._lock:
            for agent_id, entry in failed.items():
                newer = self._pending.setdefault(agent_id, entry)
                # The newer report was compared with the failed one's configurations.
                newer.changed = newer.changed or entry.changed


def _write(session: Session, pending: dict[str, Pending]) -> dict[str, bool]:
    """Write the heartbeats; return the agents' admin_state_up (a missing one was deleted).

    First one statement per CHUNK agents takes the rows' locks in agent id order and reads
    their admin state: every worker and replica locks in that one order, so overlapping
    flushes queue instead of deadlocking (MariaDB 1213). Then the heartbeats: on MySQL and
    MariaDB one UPDATE with a CASE per chunk (PyMySQL runs an executemany as one round trip
    per row); elsewhere one executemany (psycopg pipelines it; SQLite is in-process), which
    is cheaper there than the CASE. Configurations (and the load read from them) are written
    only where they changed.
    """
    conn = session.connection()
    ids = sorted(pending)
    states: dict[str, bool] = {}
    one_statement = conn.dialect.name in ("mysql", "mariadb")
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        states.update((agent_id, up) for agent_id, up in conn.execute(
            select(_AGENTS.c.id, _AGENTS.c.admin_state_up).where(_AGENTS.c.id.in_(chunk))
            .order_by(_AGENTS.c.id).with_for_update()))
        if one_statement:
            beats = case({agent_id: pending[agent_id].when for agent_id in chunk},
                         value=_AGENTS.c.id, else_=_AGENTS.c.heartbeat_timestamp)
            conn.execute(update(_AGENTS).where(_AGENTS.c.id.in_(chunk))
                         .values(heartbeat_timestamp=beats))
    if not one_statement:
        conn.execute(_HEARTBEAT, [{"b_id": agent_id, "b_ts": pending[agent_id].when}
                                  for agent_id in ids])
    changed = [{"b_id": agent_id, "b_conf": pending[agent_id].configurations,
                "b_load": pending[agent_id].load}
               for agent_id in ids if pending[agent_id].changed]
    if changed:
        conn.execute(_CONFIGURATIONS, changed)
    return states


def _reach(state: AgentState) -> L2Reach | None:
    if state.agent_type != AGENT_TYPE_LINUXBRIDGE:
        return None
    return reach_from(state.host, state.configurations)
