"""This process's copy of the agent fleet as scheduling needs it: liveness, admin state,
zone, load and L2 reach, kept in step with the database without reading every agent.

Scheduling a network, creating its first port and adding it to an agent used to load every
agent and count every binding; with this copy each costs a few small queries whatever the
size of the fleet (docs/performance.md). How each fact stays right, across the workers and
replicas that change agents too:

- Changes that heartbeats do not carry (registration, deletion, admin_state_up, zone, an L2
  agent's reach) bump the one-row fleet_revision in their own transaction (`note_change`).
  Each use reads that integer; a new value reloads the copy whole. Rare: operators' actions
  and agents' first reports.
- Load (dhcp_load_type = networks: bindings per agent) follows the event log, which every
  binding change and network deletion writes: each use applies the events after its cursor,
  holding back at gaps that may still fill (events.safe_prefix); a pruned cursor reloads.
- Liveness follows heartbeats. The copy's heartbeat of an agent is never newer than the
  database's, so it may call a live agent dead, never a dead one alive. A background pass
  (`refresh_heartbeats`, about once a second) reads the rows whose heartbeat moved since
  the last pass; deaths are found by a heap of heartbeats, not by a scan; when too few
  agents look alive to place a network, the live rows are read again before giving up.
- What placement chose is checked against the rows (`confirm`) before it is bound: a stale
  copy can at worst cost one reload, never a binding to a disabled, dead or deleted agent.

Only dhcp_load_type = networks is followed this way: `subnets` and `ports` are loads the
agents report in every heartbeat, so services/bindings.py reads those from the rows.
"""
from __future__ import annotations

import heapq
import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from neutrino.db.models import Agent, Event, FleetRevision, NetworkDhcpAgentBinding
from neutrino.db.session import Database
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE
from neutrino.scheduler.candidates import CandidateIndex
from neutrino.scheduler.liveness import alive_cutoff, is_alive
from neutrino.scheduler.placement import AgentSnapshot
from neutrino.scheduler.reach import L2Reach, SegmentView, can_carry, filter_applies, reach_from
from neutrino.services import events
from neutrino.services.clock import utcnow

LOG = logging.getLogger(__name__)
REVISION_ROW = 1
# Heartbeats reach the database up to a flush period after they were heard, from any
# worker (services/heartbeats.py): each pass re-reads this much before the previous one.
HEARTBEAT_SLACK = timedelta(seconds=2)
REFRESH_PERIOD = 1.0  # seconds between background heartbeat passes (api/app.py)
# A copy whose heartbeats are older than this refreshes them on the request path (the
# background pass is not running, e.g. services used without the app).
STALE_AFTER = timedelta(seconds=5)
EVENT_BATCH = 1000
_EVENT_COLUMNS = (Event.id, Event.event, Event.resource_id, Event.network_id, Event.created_at)


def note_change(session: Session) -> None:
    """Inside the transaction that changed an agent beyond its heartbeat: tell every copy."""
    bumped = session.execute(update(FleetRevision).where(FleetRevision.id == REVISION_ROW)
                             .values(revision=FleetRevision.revision + 1))
    if bumped.rowcount == 0:  # type: ignore[attr-defined]
        # A schema made by create_all (tests) rather than by the migration lacks the row.
        session.add(FleetRevision(id=REVISION_ROW, revision=1))
        session.flush()


def revision_of(reader: Session | Connection) -> int:
    """The fleet_revision counter (0 before the first change): a new value means reload."""
    return int(reader.scalar(select(FleetRevision.revision)
                             .where(FleetRevision.id == REVISION_ROW)) or 0)


@dataclass
class _Known:
    """One agent as the copy knows it."""

    id: str
    agent_type: str
    host: str
    availability_zone: str | None
    admin_state_up: bool
    heartbeat: datetime
    reach: L2Reach | None = None  # L2 agents only
    alive: bool = False  # as of the last sweep


class FleetSnapshot:
    """The copy; every method takes the caller's session, so it reads what that sees."""

    def __init__(self, db: Database, agent_down_time: int,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._down = agent_down_time
        self._clock = clock
        self._lock = threading.Lock()
        self._revision: int | None = None  # None: reload on next use
        self._cursor = 0
        self._agents: dict[str, _Known] = {}
        self._index = CandidateIndex()
        self._load: dict[str, int] = {}
        self._hosting: dict[str, tuple[str, ...]] = {}  # network id -> its DHCP agents
        self._l2_live: dict[str, L2Reach] = {}  # host -> its live L2 agent's reach
        self._l2_count = 0
        self._deaths: list[tuple[datetime, str]] = []  # heap of (heartbeat, agent id)
        self._beats_read_at = datetime.min
        self.reloads = 0  # how often the copy was read whole (tests, benchmarks)

    # ---- what scheduling asks -----------------------------------------------------------------

    def shortlist(self, session: Session, now: datetime, need: int, hosting: Sequence[str],
                  segment: SegmentView | None, reach_mode: str, strategy: str,
                  rng: random.Random) -> list[AgentSnapshot]:
        """The agents placement may choose among: the hosting ones (for their zones) and,
        of the eligible ones whose host reaches `segment` (when [DEFAULT]
        dhcp_schedule_require_l2_reach applies), enough for `need` picks."""
        with self._lock:
            self._sync(session, now)
            picked = self._pick(need, hosting, segment, reach_mode, strategy, rng)
            if len(picked) < need and self._reread_live(session, now):
                picked = self._pick(need, hosting, segment, reach_mode, strategy, rng)
            held = [self._snapshot(self._agents[i], now) for i in hosting
                    if i in self._agents]
            return held + picked

    def reaches(self, session: Session, now: datetime, host: str,
                segment: SegmentView | None) -> tuple[bool, int]:
        """Whether a live L2 agent on `host` carries `segment`; and the L2 agents registered."""
        with self._lock:
            self._sync(session, now)
            if segment is None:
                return True, self._l2_count
            reach = self._l2_live.get(host)
            if reach is None:
                self._reread_live(session, now)
                reach = self._l2_live.get(host)
            return reach is not None and can_carry(reach, segment), self._l2_count

    def confirm(self, session: Session, agent_ids: Iterable[str], now: datetime
                ) -> dict[str, str] | None:
        """The chosen agents' hosts, if the rows agree that they are DHCP agents, alive and
        enabled; else None, and the copy is read whole on next use."""
        ids = list(agent_ids)
        if not ids:
            return {}
        rows = session.execute(select(Agent.id, Agent.agent_type, Agent.admin_state_up,
                                      Agent.heartbeat_timestamp, Agent.host)
                               .where(Agent.id.in_(ids))).all()
        ok = len(rows) == len(set(ids)) and all(
            kind == AGENT_TYPE_DHCP and up and is_alive(beat, now, self._down)
            for _, kind, up, beat, _ in rows)
        if not ok:
            LOG.info("fleet copy was stale (chosen agents %s changed meanwhile); reloading",
                     ", ".join(i[:8] for i in ids))
            self.invalidate()
            return None
        return {agent_id: host for agent_id, _, _, _, host in rows}

    def invalidate(self) -> None:
        with self._lock:
            self._revision = None

    # ---- keeping up ---------------------------------------------------------------------------

    def refresh_heartbeats(self) -> None:
        """Read the heartbeats that moved since the last pass (the background loop)."""
        with self._lock:
            if self._revision is None:
                return  # nobody has used the copy yet, or it reloads on next use anyway
        with self._db.session() as session, self._lock:
            self._read_beats(session, self._clock())

    def heard(self, agent_id: str, when: datetime) -> None:
        """This process wrote a heartbeat (a revival, say): no need to wait for the pass."""
        with self._lock:
            known = self._agents.get(agent_id)
            if known is not None and when > known.heartbeat:
                self._beat(known, when, self._clock())

    def _sync(self, session: Session, now: datetime) -> None:
        revision, rows = self._revision_and_events(session)
        if revision != self._revision or not self._follow_events(session, now, rows):
            self._reload(session, now, revision)
        elif now - self._beats_read_at > STALE_AFTER:
            self._read_beats(session, now)
        self._sweep(now)

    def _reload(self, session: Session, now: datetime, revision: int) -> None:
        self._cursor = events.fetch(session, "", -1, now=now).latest_revision
        self._agents.clear()
        self._index = CandidateIndex()
        self._l2_live.clear()
        self._deaths = []
        columns = (Agent.id, Agent.agent_type, Agent.host, Agent.availability_zone,
                   Agent.admin_state_up, Agent.heartbeat_timestamp)
        for i, kind, host, zone, up, beat in session.execute(
                select(*columns).where(Agent.agent_type == AGENT_TYPE_DHCP)):
            self._agents[i] = _Known(i, kind, host, zone, up, beat)
        l2 = session.execute(select(*columns, Agent.configurations)
                             .where(Agent.agent_type == AGENT_TYPE_LINUXBRIDGE)).all()
        for i, kind, host, zone, up, beat, conf in l2:
            self._agents[i] = _Known(i, kind, host, zone, up, beat, reach_from(host, conf))
        self._l2_count = len(l2)
        hosting: dict[str, list[str]] = {}
        for network_id, agent_id in session.execute(select(
                NetworkDhcpAgentBinding.network_id, NetworkDhcpAgentBinding.dhcp_agent_id)):
            known = self._agents.get(agent_id)
            hosting.setdefault(network_id, []).append(known.id if known else agent_id)
        self._hosting = {n: tuple(a) for n, a in hosting.items()}
        self._load = {}
        for agents in self._hosting.values():
            for agent_id in agents:
                self._load[agent_id] = self._load.get(agent_id, 0) + 1
        for known in self._agents.values():
            known.alive = False
            self._deaths.append((known.heartbeat, known.id))
            self._set_alive(known, is_alive(known.heartbeat, now, self._down))
        heapq.heapify(self._deaths)
        self._beats_read_at = now
        self._revision = revision
        self.reloads += 1
        LOG.debug("fleet copy read whole: %d agents, %d bindings, revision %d",
                  len(self._agents), sum(self._load.values()), revision)

    def _revision_and_events(self, session: Session) -> tuple[int, list[Any]]:
        """The fleet revision and the first batch of events after the cursor, in one round
        trip (every scheduling call asks both): the one revision row, outer-joined to the
        events."""
        rows = list(session.execute(
            select(FleetRevision.revision, *_EVENT_COLUMNS)
            .select_from(FleetRevision)
            .outerjoin(Event, Event.id > self._cursor)
            .where(FleetRevision.id == REVISION_ROW).order_by(Event.id).limit(EVENT_BATCH)))
        if not rows:  # a schema made by create_all (tests) lacks the row: two queries
            return revision_of(session), self._events_after(session)
        return int(rows[0].revision), [r for r in rows if r.id is not None]

    def _events_after(self, session: Session) -> list[Any]:
        return list(session.execute(select(*_EVENT_COLUMNS).where(Event.id > self._cursor)
                                    .order_by(Event.id).limit(EVENT_BATCH)))

    def _follow_events(self, session: Session, now: datetime, rows: list[Any]) -> bool:
        """Apply binding changes after the cursor, `rows` (the first batch of them) and on;
        False when the log no longer has them."""
        while True:
            if rows and rows[0].id > self._cursor + 1:
                oldest = session.scalar(select(func.min(Event.id)))
                if oldest is not None and oldest > self._cursor + 1:
                    return False  # pruned past the cursor: what it missed is gone
            kept, cursor = events.safe_prefix(rows, self._cursor, now)
            for row in kept:
                self._apply(row.event, row.resource_id, row.network_id)
            self._cursor = max(cursor, self._cursor)
            if len(rows) < EVENT_BATCH or len(kept) < len(rows):
                return True
            rows = self._events_after(session)

    def _apply(self, event: str, agent_id: str, network_id: str | None) -> None:
        if network_id is None:
            return
        held = self._hosting.get(network_id, ())
        if event == "agent.network_added" and agent_id not in held:
            self._hosting[network_id] = (*held, agent_id)
            self._add_load(agent_id, 1)
        elif event == "agent.network_removed" and agent_id in held:
            self._hosting[network_id] = tuple(a for a in held if a != agent_id)
            self._add_load(agent_id, -1)
        elif event == "network.delete":
            for gone in self._hosting.pop(network_id, ()):
                self._add_load(gone, -1)

    def _add_load(self, agent_id: str, delta: int) -> None:
        load = self._load[agent_id] = max(0, self._load.get(agent_id, 0) + delta)
        self._index.set_load(agent_id, load)

    def _read_beats(self, session: Session, now: datetime) -> None:
        since = self._beats_read_at - HEARTBEAT_SLACK
        for agent_id, beat in session.execute(select(Agent.id, Agent.heartbeat_timestamp)
                                              .where(Agent.heartbeat_timestamp > since)):
            known = self._agents.get(agent_id)
            if known is None:
                continue  # registered meanwhile: its fleet_revision bump reloads the copy
            if beat > known.heartbeat:
                self._beat(known, beat, now)
        self._beats_read_at = now

    def _reread_live(self, session: Session, now: datetime) -> bool:
        """Read every live row's heartbeat (few agents look alive); True if one revived."""
        revived = False
        for agent_id, beat in session.execute(
                select(Agent.id, Agent.heartbeat_timestamp)
                .where(Agent.heartbeat_timestamp >= alive_cutoff(now, self._down))):
            known = self._agents.get(agent_id)
            if known is not None and beat > known.heartbeat:
                revived = revived or not known.alive
                self._beat(known, beat, now)
        self._sweep(now)
        return revived

    def _beat(self, known: _Known, beat: datetime, now: datetime) -> None:
        known.heartbeat = beat
        heapq.heappush(self._deaths, (beat, known.id))
        if not known.alive and is_alive(beat, now, self._down):
            self._set_alive(known, True)

    def _sweep(self, now: datetime) -> None:
        """Agents whose last heartbeat aged past agent_down_time are dead from now on."""
        cutoff = alive_cutoff(now, self._down)
        while self._deaths and self._deaths[0][0] < cutoff:
            _, agent_id = heapq.heappop(self._deaths)
            known = self._agents.get(agent_id)
            if known is not None and known.alive and not is_alive(known.heartbeat, now,
                                                                  self._down):
                self._set_alive(known, False)

    def _set_alive(self, known: _Known, alive: bool) -> None:
        known.alive = alive
        if known.agent_type == AGENT_TYPE_LINUXBRIDGE:
            if alive and known.reach is not None:
                self._l2_live[known.host] = known.reach
            elif self._l2_live.get(known.host) is known.reach:
                del self._l2_live[known.host]
        elif alive and known.admin_state_up:
            self._index.put(AgentSnapshot(known.id, known.host, True, True,
                                          self._load.get(known.id, 0),
                                          known.availability_zone))
        else:
            self._index.remove(known.id)

    # ---- choosing -----------------------------------------------------------------------------

    def _pick(self, need: int, hosting: Sequence[str], segment: SegmentView | None,
              reach_mode: str, strategy: str, rng: random.Random) -> list[AgentSnapshot]:
        held = set(hosting)
        check_reach = segment is not None and filter_applies(reach_mode, self._l2_count)

        def may(agent: AgentSnapshot) -> bool:
            if agent.id in held:
                return False
            if not check_reach or segment is None:
                return True
            reach = self._l2_live.get(agent.host)
            return reach is not None and can_carry(reach, segment)

        return self._index.shortlist(need, may, strategy, rng)

    def _snapshot(self, known: _Known, now: datetime) -> AgentSnapshot:
        return AgentSnapshot(known.id, known.host, is_alive(known.heartbeat, now, self._down),
                             known.admin_state_up, self._load.get(known.id, 0),
                             known.availability_zone)
