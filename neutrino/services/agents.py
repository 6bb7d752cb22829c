"""Agents: registration by heartbeat, liveness on read, admin updates and deletion."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.agent_protocol.messages import AgentState, ReportResult
from neutrino.config import ServerSettings
from neutrino.db.models import Agent
from neutrino.db.session import Database
from neutrino.errors import AgentNotFound, InvalidInput, shown
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE
from neutrino.scheduler.liveness import is_alive
from neutrino.scheduler.reach import reach_from
from neutrino.services import agent_listing, events, fleet_snapshot, history, statuses
from neutrino.services.agent_list_cache import AgentListCache
from neutrino.services.agent_load import reported_load
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow
from neutrino.services.fleet_snapshot import FleetSnapshot
from neutrino.services.heartbeats import HeartbeatBuffer, RawReport
from neutrino.services.history import SERVER, Actor
from neutrino.services.views import AGENT_COLUMNS, agent_columns, agent_row_view, agent_view

LOG = logging.getLogger(__name__)


class Agents:
    def __init__(self, db: Database, settings: ServerSettings, bindings: Bindings,
                 joined: Callable[[str, str], None] | None = None,
                 fleet: FleetSnapshot | None = None) -> None:
        self.db = db
        self.settings = settings
        self.bindings = bindings
        # Told (agent id, host) when an enabled DHCP agent registers or comes back to life:
        # it holds nothing then (services/rebalance.py may give it its share).
        self.joined = joined
        self.fleet = fleet
        self.heartbeats = HeartbeatBuffer(db, settings.agent_down_time,
                                          settings.dhcp_load_type)
        self.listing = AgentListCache(db, settings.agent_down_time)

    def quick_report(self, state: AgentState, raw: RawReport | None = None
                     ) -> ReportResult | None:
        """Acknowledge a routine heartbeat from memory; None when it needs report_state().
        With `raw` (the bytes it came as), the same bytes later pass quick_raw_report."""
        return self.heartbeats.offer(state, utcnow(), raw)

    def quick_raw_report(self, raw: RawReport) -> ReportResult | None:
        """Acknowledge a heartbeat from its bytes alone when they repeat the agent's last
        routine report; None when they do not (parse it, then quick_report)."""
        return self.heartbeats.offer_raw(raw, utcnow())

    def report(self, state: AgentState) -> ReportResult:
        """A heartbeat, from memory when routine (for callers already off the event loop)."""
        return self.quick_report(state) or self.report_state(state)

    def report_state(self, state: AgentState) -> ReportResult:
        """Record a heartbeat; the first report of an (agent_type, host) registers it."""
        now = utcnow()
        down = self.settings.agent_down_time
        load = reported_load(state.agent_type, state.configurations,
                             self.settings.dhcp_load_type)

        def work(session: Session) -> tuple[ReportResult, bool, bool]:
            agent = session.scalars(
                select(Agent).where(Agent.agent_type == state.agent_type,
                                    Agent.host == state.host).with_for_update()).first()
            if agent is None:
                agent = Agent(
                    id=str(uuid.uuid4()), agent_type=state.agent_type, binary=state.binary,
                    topic=state.topic, host=state.host,
                    availability_zone=state.availability_zone,
                    admin_state_up=self.settings.enable_new_agents, description="",
                    configurations=state.configurations,
                    resource_versions=state.resource_versions, load=load,
                    created_at=now, started_at=now, heartbeat_timestamp=now)
                session.add(agent)
                session.flush()
                history.note(session, history.REGISTERED,
                             reason=f"{agent.agent_type} sent its first state report",
                             agent_id=agent.id, host=agent.host, now=now)
                fleet_snapshot.note_change(session)
                LOG.info("agent %s registered: %s on %s", agent.id, agent.agent_type,
                         agent.host)
                return ReportResult(agent_id=agent.id,
                                    admin_state_up=agent.admin_state_up), True, True
            revived = not is_alive(agent.heartbeat_timestamp, now, down)
            values: dict[str, Any] = {"heartbeat_timestamp": now,
                                      "configurations": state.configurations, "load": load}
            if state.start_flag:
                values["started_at"] = now
            if state.binary != agent.binary or state.topic != agent.topic:
                values.update(binary=state.binary, topic=state.topic)
            if state.availability_zone != agent.availability_zone:
                values["availability_zone"] = state.availability_zone
            if agent.history_dead:
                # Back, in the transaction that hears it (under the row lock, so a replica's
                # liveness look cannot note it too); services/history.py.
                values["history_dead"] = False
                history.note(session, history.ALIVE_AGAIN, reason="reporting again",
                             agent_id=agent.id, host=agent.host, now=now)
            session.execute(update(Agent).where(Agent.id == agent.id).values(**values))
            if "availability_zone" in values or _reach_changed(agent, state):
                fleet_snapshot.note_change(session)
            if revived:
                LOG.info("agent %s (%s on %s) is alive again", agent.id, agent.agent_type,
                         agent.host)
            return (ReportResult(agent_id=agent.id, admin_state_up=agent.admin_state_up),
                    revived or state.start_flag, revived)

        try:
            result, fresh, joined = self.db.run(work)
        except IntegrityError:
            # Two first reports of one agent raced; the other one registered it.
            result, fresh, joined = self.db.run(work)
        self.heartbeats.remember(state, result, now)
        if self.fleet is not None:
            self.fleet.heard(result.agent_id, now)  # a revival counts here at once
        if fresh and state.agent_type == AGENT_TYPE_DHCP and result.admin_state_up:
            scheduled = self.bindings.auto_schedule(
                f"DHCP agent on {state.host} came up")
            if scheduled:
                LOG.info("%d network binding(s) made after DHCP agent on %s came up",
                         scheduled, state.host)
            if joined and self.joined is not None:
                self.joined(result.agent_id, state.host)
        return result

    def listed(self, marker: str | None = None, limit: int | None = None
               ) -> tuple[list[dict[str, Any]], bool]:
        """Every agent (or one page after `marker`) in the default order, from this
        process's copy (services/agent_list_cache.py); and whether more follow."""
        return self.listing.page(utcnow(), marker, limit)

    def listed_json(self, marker: str | None = None, limit: int | None = None
                    ) -> tuple[list[orjson.Fragment], str | None, bool]:
        """listed() as JSON already written (every field); the last one's id; more or not."""
        return self.listing.rendered(utcnow(), marker, limit)

    def list(self, filters: dict[str, list[str]] | None = None,
             page: agent_listing.PageRequest | None = None
             ) -> tuple[list[dict[str, Any]], bool]:
        """Agents matching `filters` (those in agent_listing.PUSHED_FILTERS, in the query)
        and, with `page`, one keyset page of them; and whether more rows follow the page."""
        now = utcnow()
        down = self.settings.agent_down_time
        # Plain rows, not ORM objects: this is the hot read of `agent-list` with many agents.
        columns = [Agent.__table__.c[name] for name in AGENT_COLUMNS]
        query = select(*columns).where(
            *agent_listing.filter_conditions(filters or {}, now, down))
        more = False
        with self.db.connect() as conn:
            if page is None:
                rows = conn.execute(query.order_by(
                    *agent_listing.order_by(list(agent_listing.DEFAULT_ORDER)))).all()
            else:
                order = page.full_order()
                if page.marker is not None:
                    marker = conn.execute(select(*columns).where(
                        Agent.id == page.marker)).first()
                    if marker is None:
                        raise InvalidInput(f"Marker {shown(page.marker)} could not be found.")
                    query = query.where(agent_listing.after(order, marker._asdict()))
                rows = conn.execute(query.order_by(*agent_listing.order_by(order))
                                    .limit(page.limit + 1)).all()
                more = len(rows) > page.limit
                rows = list(rows[:page.limit])
                if page.reverse:
                    rows.reverse()
        beat = AGENT_COLUMNS.index("heartbeat_timestamp")
        return [agent_row_view(row, is_alive(row[beat], now, down)) for row in rows], more

    def get(self, agent_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise AgentNotFound(agent_id)
            return self.view(agent)

    def view(self, agent: Agent) -> dict[str, Any]:
        return agent_view(agent_columns(agent), is_alive(agent.heartbeat_timestamp, utcnow(),
                                                         self.settings.agent_down_time))

    def update(self, agent_id: str, attrs: dict[str, Any], actor: Actor = SERVER
               ) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            agent = session.get(Agent, agent_id, with_for_update=True)
            if agent is None:
                raise AgentNotFound(agent_id)
            if "admin_state_up" in attrs and attrs["admin_state_up"] != agent.admin_state_up:
                history.note(session, history.ENABLED if attrs["admin_state_up"]
                             else history.DISABLED, actor=actor, reason="admin_state_up set "
                             f"to {attrs['admin_state_up']}", agent_id=agent_id,
                             host=agent.host)
            if any(key in attrs and attrs[key] != getattr(agent, key)
                   for key in ("admin_state_up", "description")):
                fleet_snapshot.note_change(session)  # the agent list's copy shows both
            for key in ("admin_state_up", "description"):
                if key in attrs:
                    setattr(agent, key, attrs[key])
            session.flush()
            return self.view(agent)

        view = self.db.run(work)
        if "admin_state_up" in attrs:
            LOG.info("agent %s admin_state_up set to %s", agent_id, attrs["admin_state_up"])
        return view

    def delete(self, agent_id: str, actor: Actor = SERVER) -> None:
        def work(session: Session) -> None:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise AgentNotFound(agent_id)
            # Tell a still-running agent to let go of its networks before the rows vanish.
            hosted = self.bindings.networks_hosted_by(session, agent_id)
            for network_id in hosted:
                events.record(session, "agent.network_removed", "agent", agent_id, network_id,
                              host=agent.host)
                history.note(session, history.REMOVED, actor=actor, reason="agent deleted",
                             network_id=network_id, from_agent=agent_id, host=agent.host)
            history.note(session, history.DELETED, actor=actor, reason="agent-delete",
                         agent_id=agent_id, host=agent.host)
            session.delete(agent)
            session.flush()  # the bindings go with it (ON DELETE CASCADE)
            fleet_snapshot.note_change(session)
            # Ports that waited for this agent alone to load them wait no more.
            statuses.refresh_networks(session, hosted)

        self.db.run(work)
        self.heartbeats.forget(agent_id)
        LOG.info("agent %s deleted with its network bindings", agent_id)
        self.bindings.auto_schedule(f"agent {agent_id} deleted")


def _reach_changed(agent: Agent, state: AgentState) -> bool:
    """An L2 agent now carries other networks than before (scheduling's reach filter)."""
    return agent.agent_type == AGENT_TYPE_LINUXBRIDGE and \
        reach_from(agent.host, agent.configurations) != reach_from(state.host,
                                                                    state.configurations)
