"""Availability zones in scheduling, pure over plain data: which zones a network's DHCP
agents may be in (its `availability_zone_hints`, else `[DEFAULT]
default_availability_zones`), and the spread rule: one agent per zone before a second in
any zone, so that one zone's power loss cannot take every agent of a network.

Rebalance and drain planners use the same two rules (`allowed_zones`, `spread`)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
Zone = str | None  # an agent that reports no zone is in zone None, a zone of its own


def allowed_zones(hints: Sequence[str], defaults: Sequence[str] = ()) -> frozenset[str] | None:
    """Zones a network's agents may be in: the hints, else the defaults; None: any zone."""
    zones = list(hints) or list(defaults)
    return frozenset(zones) if zones else None


def in_zones(zone: Zone, zones: frozenset[str] | None) -> bool:
    return zones is None or zone in zones


def spread(ranked: Sequence[T], zone_of: Callable[[T], Zone], hosted: Iterable[Zone],
           need: int) -> list[T]:
    """Up to `need` of `ranked` (best first): each pick from the zone holding the fewest of
    the network's agents (`hosted`: the zones of those it has), ties to the zone whose best
    remaining candidate ranks first; within a zone, in rank order."""
    counts = Counter(hosted)
    queues: dict[Zone, list[int]] = {}
    for index, item in enumerate(ranked):
        queues.setdefault(zone_of(item), []).append(index)
    chosen: list[T] = []
    while len(chosen) < need and queues:
        zone = min(queues, key=lambda z: (counts[z], queues[z][0]))
        chosen.append(ranked[queues[zone].pop(0)])
        counts[zone] += 1
        if not queues[zone]:
            del queues[zone]
    return chosen

