"""This process's copy of every agent's API view, so GET /v2.0/agents costs what changed
since the last request instead of reading and decoding every row (docs/performance.md).

On MariaDB most of a 4,000-agent list was PyMySQL decoding rows in Python. The copy is
kept in step with the database on every use, in one short read session, the way the fleet
snapshot is (services/fleet_snapshot.py):

- Changes that heartbeats do not carry (registration, deletion, admin_state_up,
  description, zone, reach) bump fleet_revision in their own transaction; a new value
  reloads the copy whole, in the database's own order (host, agent type, id: its
  collation, not Python's).
- Everything else written to an agent row (heartbeats, configurations, load, started_at,
  binary, topic) is written with a new heartbeat_timestamp, so the rows whose heartbeat is
  newer than the previous read, less the flush slack, are read again whole.
- A heartbeat written later than the slack allows (a flush retried after an outage) is
  caught by the agent's next heartbeat, or by the full reload every RELOAD_AFTER.

What a request sees is therefore what the database held when it started, as before; only
`alive` is computed per request, from the copied heartbeat.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Table, select

from neutrino.db.models import Agent
from neutrino.db.session import Database
from neutrino.errors import InvalidInput, shown
from neutrino.scheduler.liveness import alive_cutoff
from neutrino.services import agent_listing, fleet_snapshot
from neutrino.services.views import AGENT_COLUMNS, agent_row_view

_AGENTS: Table = Agent.__table__  # type: ignore[assignment]
_COLUMNS = [_AGENTS.c[name] for name in AGENT_COLUMNS]
_BEAT = AGENT_COLUMNS.index("heartbeat_timestamp")
# A safety net for writes no rule above sees; a reload of 4,000 rows costs one old-style list.
RELOAD_AFTER = timedelta(seconds=10)


@dataclass
class _Entry:
    view: dict[str, Any]  # the API's agent; "alive" is set per request
    heartbeat: datetime  # a NOT NULL column
    json: tuple[orjson.Fragment, orjson.Fragment]  # the view written, dead and alive


class AgentListCache:
    """Every agent's view in the database's default list order, refreshed on each use."""

    def __init__(self, db: Database, agent_down_time: int) -> None:
        self.db = db
        self.down = agent_down_time
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._loaded_at = datetime.min
        self._read_at = datetime.min
        self._order: list[_Entry] = []
        self._position: dict[str, int] = {}  # agent id -> index in _order

    def page(self, now: datetime, marker: str | None = None, limit: int | None = None
             ) -> tuple[list[dict[str, Any]], bool]:
        """The agents after `marker` (all without it), at most `limit`, in the default
        order; and whether more follow. Each view is the caller's own copy."""
        cutoff = alive_cutoff(now, self.down)  # liveness's one rule, as a heartbeat bound
        entries, more = self._slice(now, marker, limit)
        views = []
        for entry in entries:
            view = entry.view.copy()  # keeps the key order: "alive" stays in its place
            view["alive"] = entry.heartbeat >= cutoff
            views.append(view)
        return views, more

    def rendered(self, now: datetime, marker: str | None = None, limit: int | None = None
                 ) -> tuple[list[orjson.Fragment], str | None, bool]:
        """page() as JSON already written, for an answer that shows every field; the last
        agent's id; whether more follow."""
        cutoff = alive_cutoff(now, self.down)
        entries, more = self._slice(now, marker, limit)
        return ([entry.json[entry.heartbeat >= cutoff] for entry in entries],
                entries[-1].view["id"] if entries else None, more)

    def _slice(self, now: datetime, marker: str | None, limit: int | None
               ) -> tuple[list[_Entry], bool]:
        with self._lock:
            self._refresh(now)
            start = 0
            if marker is not None:
                if marker not in self._position:
                    raise InvalidInput(f"Marker {shown(marker)} could not be found.")
                start = self._position[marker] + 1
            end = len(self._order) if not limit else start + limit
            # Entries are replaced, never changed: the slice stays as it was read.
            return self._order[start:end], end < len(self._order)

    def _refresh(self, now: datetime) -> None:
        with self.db.connect() as conn:
            revision = fleet_snapshot.revision_of(conn)
            if revision != self._revision or now - self._loaded_at >= RELOAD_AFTER:
                self._load(conn, revision, now)
            else:
                self._read_moved(conn, now)

    def _load(self, conn: Connection, revision: int, now: datetime) -> None:
        rows = conn.execute(select(*_COLUMNS).order_by(
            *agent_listing.order_by([*agent_listing.DEFAULT_ORDER, ("id", "asc")]))).all()
        self._order = [_entry(row) for row in rows]
        self._position = {row[0]: i for i, row in enumerate(rows)}
        self._revision = revision
        self._loaded_at = self._read_at = now

    def _read_moved(self, conn: Connection, now: datetime) -> None:
        since = self._read_at - fleet_snapshot.HEARTBEAT_SLACK
        for row in conn.execute(select(*_COLUMNS).where(_AGENTS.c.heartbeat_timestamp > since)):
            position = self._position.get(row[0])
            if position is not None:  # a new one bumped fleet_revision: next use reloads
                self._order[position] = _entry(row)
        self._read_at = now


def _entry(row: Sequence[Any]) -> _Entry:
    view = agent_row_view(row, False)
    # Written once per change, not per request: most of a full list's cost was writing it.
    json = (_fragment(view), _fragment({**view, "alive": True}))
    return _Entry(view=view, heartbeat=row[_BEAT], json=json)


def _fragment(view: dict[str, Any]) -> orjson.Fragment:
    # orjson's bytes keep its 4 KiB write buffer (tracemalloc: 4,097 B for 80 of JSON);
    # a copy is its own size, which matters when kept for 20,000 agents.
    return orjson.Fragment(memoryview(orjson.dumps(view)).tobytes())
