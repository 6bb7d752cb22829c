"""Eligible DHCP agents indexed by zone and load, so that placement sees a short list (pure).

choose_agents (placement.py) orders its candidates by load, then zone, ties at random. Of a
fleet of thousands only the least loaded few of each zone can win, so `shortlist` hands it
those: per availability zone, `need` agents drawn at random from the lowest load levels,
skipping those the caller's `may` refuses (the L2 reach filter). The result is what
choose_agents would pick from the whole fleet, at a cost that depends on `need` and the
number of zones, not on the number of agents. `chance` draws from all eligible agents.

Only eligible agents (alive, admin_state_up) are indexed; the caller adds and removes them
as their liveness and state change (services/fleet_snapshot.py).
"""
from __future__ import annotations

import bisect
import dataclasses
import random
from collections.abc import Callable

from neutrino.scheduler.placement import CHANCE, AgentSnapshot

# Random draws tried per wanted agent before a level is scanned whole instead: many refusals
# (most hosts unreachable) cost one scan, never an endless draw.
DRAWS_PER_PICK = 8


class _Bag:
    """A set with O(1) add, remove and uniform random choice."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._where: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: str) -> None:
        if item not in self._where:
            self._where[item] = len(self.items)
            self.items.append(item)

    def discard(self, item: str) -> None:
        where = self._where.pop(item, None)
        if where is None:
            return
        last = self.items.pop()
        if where < len(self.items):
            self.items[where] = last
            self._where[last] = where

    def draw(self, want: int, ok: Callable[[str], bool], rng: random.Random) -> list[str]:
        """Up to `want` distinct members that `ok` accepts, in random order."""
        if want <= 0 or not self.items:
            return []
        got: list[str] = []
        if len(self.items) > 4 * want:
            seen: set[str] = set()
            for _ in range(DRAWS_PER_PICK * want):
                item = self.items[rng.randrange(len(self.items))]
                if item in seen:
                    continue
                seen.add(item)
                if ok(item):
                    got.append(item)
                    if len(got) == want:
                        return got
        rest = [i for i in self.items if i not in got]
        rng.shuffle(rest)
        for item in rest:
            if len(got) == want:
                break
            if ok(item):
                got.append(item)
        return got


class CandidateIndex:
    """The eligible DHCP agents, by availability zone and load."""

    def __init__(self) -> None:
        self._agents: dict[str, AgentSnapshot] = {}
        self._levels: dict[str | None, dict[int, _Bag]] = {}
        self._loads: dict[str | None, list[int]] = {}  # per zone, its levels' loads, sorted
        self._all = _Bag()

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    def get(self, agent_id: str) -> AgentSnapshot | None:
        return self._agents.get(agent_id)

    def put(self, agent: AgentSnapshot) -> None:
        """Index an eligible agent (or re-index it with new facts)."""
        self.remove(agent.id)
        self._agents[agent.id] = agent
        self._all.add(agent.id)
        zone = agent.availability_zone
        levels = self._levels.setdefault(zone, {})
        if agent.load not in levels:
            levels[agent.load] = _Bag()
            bisect.insort(self._loads.setdefault(zone, []), agent.load)
        levels[agent.load].add(agent.id)

    def remove(self, agent_id: str) -> None:
        agent = self._agents.pop(agent_id, None)
        if agent is None:
            return
        self._all.discard(agent_id)
        zone = agent.availability_zone
        level = self._levels[zone][agent.load]
        level.discard(agent_id)
        if not level:
            del self._levels[zone][agent.load]
            loads = self._loads[zone]
            del loads[bisect.bisect_left(loads, agent.load)]
            if not loads:
                del self._levels[zone], self._loads[zone]

    def set_load(self, agent_id: str, load: int) -> None:
        agent = self._agents.get(agent_id)
        if agent is not None and agent.load != load:
            self.put(dataclasses.replace(agent, load=load))

    def shortlist(self, need: int, may: Callable[[AgentSnapshot], bool], strategy: str,
                  rng: random.Random) -> list[AgentSnapshot]:
        """Eligible agents `may` accepts among which choose_agents finds its `need` picks."""

        def ok(agent_id: str) -> bool:
            return may(self._agents[agent_id])

        if strategy == CHANCE:
            return [self._agents[i] for i in self._all.draw(need, ok, rng)]
        picked: list[AgentSnapshot] = []
        for zone, loads in self._loads.items():
            levels = self._levels[zone]
            found = 0
            for load in loads:
                ids = levels[load].draw(need - found, ok, rng)
                picked.extend(self._agents[i] for i in ids)
                found += len(ids)
                if found >= need:
                    break
        return picked
