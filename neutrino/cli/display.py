"""How resource fields look in tables: the old neutron client's conventions, typed for cliff."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cliff.columns import FormattableColumn

# agent-list shows liveness as a face, exactly like the old client (and in every output
# format, so scripts written against `neutron agent-list -f value` keep working).
ALIVE = ":-)"
DEAD = "xxx"


def alive_face(agent: Mapping[str, Any]) -> str:
    """':-)' for an agent that reported in time, 'xxx' otherwise."""
    return ALIVE if agent.get("alive") else DEAD


class JsonColumn(FormattableColumn[Any]):
    """A dict (agent configurations) shown as indented JSON over several lines."""

    def human_readable(self) -> str:
        return json.dumps(self._value, indent=1)

    def machine_readable(self) -> Any:
        return self._value


class LinesColumn(FormattableColumn[list[Any]]):
    """A list shown one item per line; dict items (pools, fixed IPs) as one-line JSON."""

    def human_readable(self) -> str:
        return "\n".join(json.dumps(item) if isinstance(item, (dict, list)) else str(item)
                         for item in self._value)

    def machine_readable(self) -> list[Any]:
        return list(self._value)


def field_value(value: Any) -> Any:
    """The cell for one raw API value: JSON for dicts, lines for lists, '' for null."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return JsonColumn(value)
    if isinstance(value, list):
        return LinesColumn(value)
    return value


def show_table(resource: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """ShowOne data: every field, sorted by name as the old client did."""
    names = tuple(sorted(resource))
    return names, tuple(field_value(resource[name]) for name in names)


def list_rows(items: Iterable[Mapping[str, Any]],
              columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Lister rows for `columns`; a missing field is an empty cell."""
    return [tuple(field_value(item.get(column)) for column in columns) for item in items]


def subnets_cell(network: Mapping[str, Any], cidrs: Mapping[str, str]) -> LinesColumn:
    """net-list's subnets cell: '<subnet-id> <cidr>' per subnet, one per line."""
    lines = [f"{subnet_id} {cidrs[subnet_id]}" if subnet_id in cidrs else str(subnet_id)
             for subnet_id in network.get("subnets") or []]
    return LinesColumn(lines)
