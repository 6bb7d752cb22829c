"""Agent list filters and keyset pages as SQL, so a filtered list or one page costs what it
returns, not what the fleet holds.

The meaning of every filter is the API's (api/listing.py over the views): a value matches
its text, booleans match "true"/"false" in any case, a NULL zone matches "". `alive` is
computed, so it becomes a heartbeat comparison with scheduler/liveness.alive_cutoff, the
one rule for it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, false, or_, true

from neutrino.db.models import Agent
from neutrino.scheduler.liveness import alive_cutoff

_AGENTS: Table = Agent.__table__  # type: ignore[assignment]
TEXT_FILTERS = ("id", "agent_type", "host", "binary", "topic")
BOOL_FILTERS = ("admin_state_up",)
PUSHED_FILTERS = frozenset((*TEXT_FILTERS, *BOOL_FILTERS, "availability_zone", "alive"))
# Sort keys a keyset page can use: columns that are never NULL, so a row comparison orders
# them as the API does. The default order (no sort_key) is today's: host, agent type.
KEYSET_SORT_KEYS = frozenset(("id", "agent_type", "host", "binary", "topic", "admin_state_up",
                              "created_at", "started_at", "heartbeat_timestamp", "load"))
DEFAULT_ORDER = (("host", "asc"), ("agent_type", "asc"))


def _wanted_bools(values: Sequence[str]) -> set[bool]:
    lowered = {v.lower() for v in values}
    return {b for b in (True, False) if str(b).lower() in lowered}


def _bool_condition(values: Sequence[str], true_when: ColumnElement[bool],
                    false_when: ColumnElement[bool]) -> ColumnElement[bool]:
    wanted = _wanted_bools(values)
    if wanted == {True, False}:
        return true()
    if wanted == {True}:
        return true_when
    if wanted == {False}:
        return false_when
    return false()


def filter_conditions(filters: dict[str, list[str]], now: datetime, agent_down_time: int
                      ) -> list[ColumnElement[bool]]:
    """WHERE conditions for the filters this module pushes (PUSHED_FILTERS; others ignored)."""
    conditions: list[ColumnElement[bool]] = []
    for key, values in filters.items():
        if key in TEXT_FILTERS:
            conditions.append(_AGENTS.c[key].in_(values))
        elif key == "availability_zone":
            zone = _AGENTS.c.availability_zone
            named = zone.in_(values)
            conditions.append(or_(named, zone.is_(None)) if "" in values else named)
        elif key == "admin_state_up":
            column = _AGENTS.c.admin_state_up
            conditions.append(_bool_condition(values, column.is_(True), column.is_(False)))
        elif key == "alive":
            beat = _AGENTS.c.heartbeat_timestamp
            cutoff = alive_cutoff(now, agent_down_time)
            conditions.append(_bool_condition(values, beat >= cutoff, beat < cutoff))
    return conditions


@dataclass(frozen=True)
class PageRequest:
    """One keyset page: sort keys with directions (id is added last), size, marker."""

    order: tuple[tuple[str, str], ...]
    limit: int
    marker: str | None = None
    reverse: bool = False

    def full_order(self) -> list[tuple[str, str]]:
        keys = [(k, d) for k, d in (self.order or DEFAULT_ORDER) if k != "id"]
        id_dir = next((d for k, d in self.order if k == "id"), "asc")
        keys.append(("id", id_dir))
        if self.reverse:
            keys = [(k, "desc" if d == "asc" else "asc") for k, d in keys]
        return keys


def order_by(order: list[tuple[str, str]]) -> list[ColumnElement[Any]]:
    return [_AGENTS.c[k].desc() if d == "desc" else _AGENTS.c[k].asc() for k, d in order]


def after(order: list[tuple[str, str]], marker: dict[str, Any]) -> ColumnElement[bool]:
    """Rows after the marker row in `order`: (k1 > v1) or (k1 = v1 and k2 > v2) or ...

    Spelled out rather than as a row-value comparison because the directions may differ.
    """
    clauses: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, direction in order:
        column = _AGENTS.c[key]
        value = marker[key]
        beyond = column < value if direction == "desc" else column > value
        clauses.append(and_(*equal, beyond))
        equal.append(column == value)
    return or_(*clauses)
