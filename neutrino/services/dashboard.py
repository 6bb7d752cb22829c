"""What the dashboard shows, read from the database: fleet counts, one page of agents, one
page of networks with their DHCP agents; each a few queries whatever the fleet's size.

Paging, search and the at-risk filter are SQL, so a page costs what it shows: with 1,000
agents and 10,000 networks the browser never receives (nor the server formats) more than
one page of each. `alive` is the API's (scheduler/liveness.py), compared in SQL through
alive_cutoff.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding, NetworkMove, Subnet
from neutrino.db.session import Database
from neutrino.errors import InvalidInput
from neutrino.neutron_names import AGENT_TYPE_DHCP
from neutrino.scheduler.liveness import alive_cutoff, is_alive, silence
from neutrino.scheduler.readiness import LOADING, BindingFacts
from neutrino.services import fleet
from neutrino.services.agent_load import reported_load
from neutrino.services.clock import isoformat, utcnow
from neutrino.services.history import History, HistoryQuery
from neutrino.services.moves import facts_of, history_kind, shown_state

Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])
MAX_PAGE_SIZE = 100
TIMELINE_ENTRIES = 30
# Moves in progress listed on the page (the oldest); the counts cover all of them.
MOVES_SHOWN = 20
# The fleet summary is the same for every open dashboard and costs passes over all agents
# and bindings: a process computes it at most this often, whatever the number of streams.
SUMMARY_TTL = 1.0
MAX_SEARCH = 64
AGENT_STATES = ("", "alive", "dead", "disabled")
NETWORK_STATES = ("", "at_risk")


@dataclass(frozen=True)
class PageQuery:
    """One page of a list: a search text (substring of names, hosts, ids), a state filter,
    a zero-based page number and its size."""

    search: str = ""
    state: str = ""
    page: int = 0
    size: int = 25

    def check(self, states: Sequence[str], what: str) -> PageQuery:
        """The query itself, or InvalidInput naming the value that is out of bounds."""
        if len(self.search) > MAX_SEARCH:
            raise InvalidInput(f"The {what} search is {len(self.search)} characters long; "
                               f"at most {MAX_SEARCH} are allowed.")
        if self.state not in states:
            raise InvalidInput(f"The {what} filter {self.state!r} is not one of "
                               f"{', '.join(repr(s) for s in states)}.")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"The {what} page size {self.size} must be between 1 and "
                               f"{MAX_PAGE_SIZE}.")
        if not 0 <= self.page <= 10**6:
            raise InvalidInput(f"The {what} page number {self.page} must be between 0 and "
                               "1000000.")
        return self


def _like(search: str) -> str:
    """A LIKE pattern matching `search` anywhere, its own % and _ taken literally."""
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(search: str, *columns: Any) -> ColumnElement[bool]:
    pattern = _like(search)
    return or_(*(func.lower(func.coalesce(c, "")).like(pattern, escape="\\")
                 for c in columns))


def _page(query: Query, q: PageQuery) -> Query:
    return query.limit(q.size).offset(q.page * q.size)


class Dashboard:
    def __init__(self, db: Database, settings: ServerSettings, history: History,
                 summary_ttl: float = SUMMARY_TTL) -> None:
        self.db = db
        self.settings = settings
        self.history = history
        self.summary_ttl = summary_ttl
        self._summary_cache: tuple[float, dict[str, Any]] | None = None

    def view(self, agents: PageQuery, networks: PageQuery,
             now: datetime | None = None) -> dict[str, Any]:
        """Everything one dashboard screen shows, read on one connection."""
        now = now or utcnow()
        cutoff = alive_cutoff(now, self.settings.agent_down_time)
        summary = self._summary(now)
        with self.db.session() as session:
            conn = session.connection()
            return {
                "server_time": isoformat(now),
                "agent_down_time": self.settings.agent_down_time,
                "dhcp_agents_per_network": self.settings.dhcp_agents_per_network,
                "summary": summary,
                "agents": self._agents(conn, cutoff, now, agents),
                "networks": self._networks(session, conn, now, networks),
                "moves": self._moves(conn),
                "timeline": self._timeline(conn),
            }

    # ---- sections ---------------------------------------------------------------------------

    def _summary(self, now: datetime) -> dict[str, Any]:
        """The cards: what /metrics counts too (services/fleet.py), so both say the same."""
        cached = self._summary_cache
        if cached is not None and time.monotonic() - cached[0] < self.summary_ttl:
            return cached[1]
        summary = self._fleet_summary(now)
        self._summary_cache = (time.monotonic(), summary)
        return summary

    def _fleet_summary(self, now: datetime) -> dict[str, Any]:
        fleet_now = fleet.summarize(self.db, self.settings, now)
        counts: dict[str, dict[str, Any]] = {}
        for (kind, alive, up), n in sorted(fleet_now.agent_counts().items()):
            row = counts.setdefault(kind, {"agent_type": kind, "total": 0, "alive": 0,
                                           "disabled": 0})
            row["total"] += n
            row["alive"] += n if alive else 0
            row["disabled"] += 0 if up else n
        return {"agents": list(counts.values()), "dhcp_networks": fleet_now.dhcp_networks,
                "networks_at_risk": fleet_now.networks_at_risk,
                "networks_unserved": fleet_now.networks_unserved}

    def _agents(self, conn: Connection, cutoff: datetime, now: datetime,
                q: PageQuery) -> dict[str, Any]:
        conditions: list[ColumnElement[bool]] = []
        if q.search:
            conditions.append(_matches(q.search, Agent.host, Agent.agent_type,
                                       Agent.availability_zone, Agent.id))
        if q.state == "alive":
            conditions.append(Agent.heartbeat_timestamp >= cutoff)
        elif q.state == "dead":
            conditions.append(Agent.heartbeat_timestamp < cutoff)
        elif q.state == "disabled":
            conditions.append(Agent.admin_state_up.is_(False))
        total = int(conn.execute(select(func.count()).select_from(Agent)
                                 .where(*conditions)).scalar_one())
        rows = list(conn.execute(_page(
            select(Agent.id, Agent.agent_type, Agent.host, Agent.admin_state_up,
                   Agent.availability_zone, Agent.heartbeat_timestamp, Agent.configurations)
            .where(*conditions).order_by(Agent.host, Agent.agent_type, Agent.id), q)))
        ids = [r.id for r in rows if r.agent_type == AGENT_TYPE_DHCP]
        hosted = {agent_id: int(n) for agent_id, n in conn.execute(
            select(NetworkDhcpAgentBinding.dhcp_agent_id, func.count())
            .where(NetworkDhcpAgentBinding.dhcp_agent_id.in_(ids))
            .group_by(NetworkDhcpAgentBinding.dhcp_agent_id))} if ids else {}
        items = []
        for r in rows:
            dhcp = r.agent_type == AGENT_TYPE_DHCP
            conf = r.configurations or {}
            items.append({
                "id": r.id, "agent_type": r.agent_type, "host": r.host,
                "alive": is_alive(r.heartbeat_timestamp, now, self.settings.agent_down_time),
                "admin_state_up": r.admin_state_up,
                "availability_zone": r.availability_zone,
                "heartbeat_age": round(max(0.0, silence(r.heartbeat_timestamp, now)), 1),
                # The API's `load` (what a DHCP agent last reported of dhcp_load_type),
                # and what it serves: networks bound to a DHCP agent, the devices an L2
                # agent last reported wiring.
                "load": reported_load(r.agent_type, conf, self.settings.dhcp_load_type),
                "serves": hosted.get(r.id, 0) if dhcp else int(conf.get("devices", 0) or 0),
                "serves_unit": "networks" if dhcp else "devices",
            })
        return {"total": total, "page": q.page, "size": q.size, "items": items}

    # ---- the at-risk rule, per network ------------------------------------------------------

    def _serving(self, cutoff: datetime) -> ColumnElement[int]:
        """Per network (correlated): how many live DHCP agents host it."""
        return select(func.count()).select_from(NetworkDhcpAgentBinding).join(
            Agent, Agent.id == NetworkDhcpAgentBinding.dhcp_agent_id).where(
            NetworkDhcpAgentBinding.network_id == Network.id,
            Agent.heartbeat_timestamp >= cutoff).correlate(Network).scalar_subquery()

    def _well_served(self, cutoff: datetime) -> Select[Any]:
        """The networks hosted by at least dhcp_agents_per_network live DHCP agents."""
        return (select(NetworkDhcpAgentBinding.network_id)
                .join(Agent, Agent.id == NetworkDhcpAgentBinding.dhcp_agent_id)
                .where(Agent.heartbeat_timestamp >= cutoff)
                .group_by(NetworkDhcpAgentBinding.network_id)
                .having(func.count() >= self.settings.dhcp_agents_per_network))

    # services/fleet.py's at-risk rule (the /metrics gauge) on one network: it needs DHCP
    # and fewer live agents host it than dhcp_agents_per_network. Two SQL forms of it, for
    # two costs: per row of a page, a correlated count (index lookups for 25 rows); as the
    # filter over every network, one pass over the bindings for the set of well-served
    # networks. tests/integration/test_dashboard.py checks both against fleet's count.

    def _at_risk_row(self, needs_dhcp: ColumnElement[bool], cutoff: datetime
                     ) -> ColumnElement[bool]:
        return and_(needs_dhcp, self._serving(cutoff) < self.settings.dhcp_agents_per_network)

    def _at_risk_filter(self, needs_dhcp: ColumnElement[bool], cutoff: datetime
                        ) -> ColumnElement[bool]:
        return and_(needs_dhcp, Network.id.not_in(self._well_served(cutoff)))

    def _networks(self, session: Session, conn: Connection, now: datetime, q: PageQuery
                  ) -> dict[str, Any]:
        cutoff = alive_cutoff(now, self.settings.agent_down_time)
        needs_dhcp = exists(select(Subnet.id).where(Subnet.network_id == Network.id,
                                                    Subnet.enable_dhcp.is_(True)))
        at_risk: ColumnElement[bool] = self._at_risk_row(needs_dhcp, cutoff)
        conditions: list[ColumnElement[bool]] = []
        if q.search:
            conditions.append(_matches(q.search, Network.name, Network.id))
        if q.state == "at_risk":
            conditions.append(self._at_risk_filter(needs_dhcp, cutoff))
            at_risk = true()  # what the filter let through
        # The page's ids first (with the count of all matches, in the same pass: the at-risk
        # filter's pass over the bindings is not made twice), then what the page shows of
        # them: in one query a database may compute the per-row subqueries for every row it
        # sorts, not just for the page's.
        found = list(conn.execute(_page(
            select(Network.id, func.count().over().label("total")).where(*conditions)
            .order_by(Network.name, Network.id), q)))
        ids = [r.id for r in found]
        total = int(found[0].total) if found else int(conn.execute(
            select(func.count()).select_from(Network).where(*conditions)).scalar_one())
        rows = list(conn.execute(
            select(Network.id, Network.name, Network.revision_number,
                   needs_dhcp.label("needs_dhcp"), at_risk.label("at_risk"))
            .where(Network.id.in_(ids)).order_by(Network.name, Network.id))) if ids else []
        hosts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        # Each binding's state by the moves' ready rule (scheduler/readiness.py): ready,
        # loading, or leaving (a move takes the network away once its target is ready).
        facts = facts_of(session, ids) if ids else {}
        moving = list(conn.execute(
            select(NetworkMove.network_id, NetworkMove.from_agent_id, NetworkMove.to_agent_id,
                   NetworkMove.stuck_since)
            .where(NetworkMove.network_id.in_(ids)))) if ids else []
        leaving = {(m.network_id, m.from_agent_id) for m in moving}
        stuck = {(m.network_id, m.to_agent_id) for m in moving if m.stuck_since is not None}
        if ids:
            for b in conn.execute(
                    select(NetworkDhcpAgentBinding.network_id, Agent.id, Agent.host,
                           Agent.admin_state_up, NetworkDhcpAgentBinding.applied_revision,
                           Agent.heartbeat_timestamp)
                    .join(Agent, Agent.id == NetworkDhcpAgentBinding.dhcp_agent_id)
                    .where(NetworkDhcpAgentBinding.network_id.in_(ids))
                    .order_by(Agent.host, Agent.id)):
                hosts[b.network_id].append({
                    "agent_id": b.id, "host": b.host,
                    "alive": is_alive(b.heartbeat_timestamp, now,
                                      self.settings.agent_down_time),
                    "admin_state_up": b.admin_state_up,
                    "readiness": self._state(facts[b.network_id].get(b.id),
                                             (b.network_id, b.id) in leaving,
                                             (b.network_id, b.id) in stuck)})
        items = [{"id": r.id, "name": r.name, "needs_dhcp": bool(r.needs_dhcp),
                  "at_risk": bool(r.at_risk), "agents": hosts[r.id]} for r in rows]
        return {"total": total, "page": q.page, "size": q.size, "items": items}

    @staticmethod
    def _state(fact: BindingFacts | None, leaving: bool, stuck: bool) -> str:
        if fact is None:  # bound between the two reads: nothing confirmed yet
            return LOADING
        return shown_state(fact, leaving, stuck)

    def _moves(self, conn: Connection) -> dict[str, Any]:
        """Moves in progress (a drain, a rebalance, a removal waiting for its replacement):
        how many of each kind, and the oldest MOVES_SHOWN, by network name and host."""
        by_kind: dict[str, int] = {}
        for reason, count in conn.execute(select(NetworkMove.reason, func.count())
                                          .group_by(NetworkMove.reason)):
            kind = history_kind(reason or "")
            by_kind[kind] = by_kind.get(kind, 0) + int(count)
        stuck = int(conn.execute(select(func.count()).select_from(NetworkMove)
                                 .where(NetworkMove.stuck_since.is_not(None))).scalar_one())
        rows = conn.execute(select(NetworkMove.network_id, NetworkMove.from_agent_id,
                                   NetworkMove.to_agent_id, NetworkMove.reason,
                                   NetworkMove.requested_at, NetworkMove.stuck_since)
                            .order_by(NetworkMove.requested_at, NetworkMove.network_id)
                            .limit(MOVES_SHOWN)).all()
        names = {r.id: r.name for r in conn.execute(
            select(Network.id, Network.name).where(Network.id.in_({r[0] for r in rows})))} \
            if rows else {}
        agent_ids = {a for r in rows for a in (r[1], r[2]) if a}
        hosts = {r.id: r.host for r in conn.execute(
            select(Agent.id, Agent.host).where(Agent.id.in_(agent_ids)))} if agent_ids else {}
        return {"total": sum(by_kind.values()), "by_kind": by_kind, "stuck": stuck,
                "items": [{"network_id": net, "network": names.get(net) or net,
                           "from": hosts.get(src, src), "to": hosts.get(dst, dst) if dst else "",
                           "kind": history_kind(reason or ""), "reason": reason or "",
                           "since": isoformat(since) if since else None,
                           "stuck_since": isoformat(stuck_at) if stuck_at else None}
                          for net, src, dst, reason, since, stuck_at in rows]}

    def _timeline(self, conn: Connection) -> dict[str, Any]:
        """The newest entries of the agent history, each with a line an operator reads:
        names and hosts instead of ids."""
        entries, more = self.history.read(HistoryQuery(limit=TIMELINE_ENTRIES))
        network_ids = {e["network_id"] for e in entries if e["network_id"]}
        agent_ids = {e[k] for e in entries for k in ("agent_id", "from_agent_id", "to_agent_id")
                     if e[k]}
        names = {r.id: r.name for r in conn.execute(
            select(Network.id, Network.name).where(Network.id.in_(network_ids)))} \
            if network_ids else {}
        hosts = {r.id: r.host for r in conn.execute(
            select(Agent.id, Agent.host).where(Agent.id.in_(agent_ids)))} if agent_ids else {}
        return {"items": [{"id": e["id"], "time": e["created_at"], "kind": e["kind"],
                           "text": timeline_text(e, names, hosts)} for e in entries],
                "more": more}


def timeline_text(entry: dict[str, Any], names: dict[str, str], hosts: dict[str, str]
                  ) -> str:
    """One history entry in words: `net1: HostA → HostB — agent dead`."""
    def host(agent_id: str | None) -> str:
        # A deleted agent's host is only in the entry itself.
        return hosts.get(agent_id or "", "") or entry.get("host") or (agent_id or "?")[:8]

    parts = []
    if entry["network_id"]:
        name = names.get(entry["network_id"])
        parts.append(f"{name or entry['network_id'][:8]}:")
    if entry["from_agent_id"] or entry["to_agent_id"]:
        parts.append(" → ".join(host(a) for a in (entry["from_agent_id"],
                                                  entry["to_agent_id"]) if a))
    elif entry["agent_id"] or entry["host"]:
        parts.append(host(entry["agent_id"]))
    if entry["reason"]:
        parts.append(f"— {entry['reason']}")
    if entry["actor"] and entry["actor"] != "server":
        parts.append(f"by {entry['actor']}")
    return " ".join(parts)
