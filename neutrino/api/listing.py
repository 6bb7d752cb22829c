"""Neutron list semantics over dicts: filters, fields, sorting and limit/marker paging."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from neutrino.errors import InvalidInput, shown

RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"}


@dataclass
class ListQuery:
    filters: dict[str, list[str]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sort_keys: list[str] = field(default_factory=list)
    sort_dirs: list[str] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None


def parse_query(params: Iterable[tuple[str, str]], known: set[str]) -> ListQuery:
    query = ListQuery()
    for key, value in params:
        if key == "fields":
            query.fields.append(value)
        elif key == "sort_key":
            if value not in known:
                raise InvalidInput(f"{shown(value)} is an invalid attribute for sort_key; use "
                                   f"one of {', '.join(sorted(known))}.")
            query.sort_keys.append(value)
        elif key == "sort_dir":
            if value not in ("asc", "desc"):
                raise InvalidInput(f"{shown(value)} is an invalid value for sort_dir, valid values "
                                   "are 'asc' and 'desc'.")
            query.sort_dirs.append(value)
        elif key == "limit":
            bad_limit = f"Limit must be an integer 0 or greater and not '{shown(value)}'."
            try:
                query.limit = int(value)
            except ValueError:
                raise InvalidInput(bad_limit) from None
            if query.limit < 0:
                raise InvalidInput(bad_limit)
        elif key == "marker":
            query.marker = value
        elif key in RESERVED:
            continue
        else:
            # Unknown filters are ignored, as Neutron does for attributes it does not know.
            query.filters.setdefault(key, []).append(value)
    if query.sort_dirs and len(query.sort_dirs) != len(query.sort_keys):
        raise InvalidInput("The number of sort_keys and sort_dirs must be the same.")
    return query


def _matches(item: dict[str, Any], key: str, wanted: list[str]) -> bool:
    if key not in item:
        return True
    value = item[key]
    if isinstance(value, bool):
        return str(value).lower() in [w.lower() for w in wanted]
    if isinstance(value, list):
        return any(str(v) in wanted for v in value)
    return ("" if value is None else str(value)) in wanted


def _item_sort_key(key: str, item: dict[str, Any]) -> tuple[int, float, str]:
    return _sort_key(item.get(key))


def _sort_key(value: Any) -> tuple[int, float, str]:
    # Numbers (mtu, revision_number, load) sort by value, not as text; None sorts last.
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def apply(items: list[dict[str, Any]], query: ListQuery) -> tuple[list[dict[str, Any]], bool]:
    """Filtered, sorted, paged and trimmed items, and whether more pages follow."""
    result = [i for i in items if all(_matches(i, k, v) for k, v in query.filters.items())]
    keys = query.sort_keys
    if keys:
        dirs = query.sort_dirs or ["asc"] * len(keys)
        for key, direction in reversed(list(zip(keys, dirs, strict=True))):
            result.sort(key=partial(_item_sort_key, key), reverse=direction == "desc")
    more = False
    if query.marker is not None:
        ids = [i.get("id") for i in result]
        if query.marker not in ids:
            raise InvalidInput(f"Marker {shown(query.marker)} could not be found.")
        result = result[ids.index(query.marker) + 1:]
    if query.limit:
        more = len(result) > query.limit
        result = result[:query.limit]
    if query.fields:
        result = [{k: v for k, v in i.items() if k in query.fields} for i in result]
    return result, more
