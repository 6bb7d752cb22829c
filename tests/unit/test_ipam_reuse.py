"""IPAM's choice among freed addresses (issue 14): quarantine, order, exhaustion."""
from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino import ipam

NOW = datetime(2026, 12, 1, 12, 0, 0)
QUARANTINE = timedelta(seconds=600)
POOLS = [{"start": "10.0.0.2", "end": "10.0.0.9"}, {"start": "10.0.0.20", "end": "10.0.0.25"}]
POOL_ADDRESSES = [str(ipaddress.ip_address(v)) for p in POOLS
                  for v in range(int(ipaddress.ip_address(p["start"])),
                                 int(ipaddress.ip_address(p["end"])) + 1)]


def freed(address: str, seconds_ago: float, waiting: bool) -> ipam.FreedAddress:
    return ipam.FreedAddress(address, NOW - timedelta(seconds=seconds_ago), waiting)


def order(used: set[str], items: list[ipam.FreedAddress]) -> list[str]:
    return list(ipam.candidate_addresses(POOLS, used, items, NOW, QUARANTINE))


# Each pool address: untouched, used by a port, or freed (how long ago, still waited for?).
states = st.dictionaries(
    st.sampled_from(POOL_ADDRESSES),
    st.one_of(st.just("used"),
              st.tuples(st.integers(0, 1200), st.booleans())),
)


def split(state: dict[str, object]) -> tuple[set[str], list[ipam.FreedAddress]]:
    used = {a for a, s in state.items() if s == "used"}
    items = [freed(a, s[0], s[1]) for a, s in state.items() if isinstance(s, tuple)]
    return used, items


@settings(max_examples=300, deadline=None)
@given(states)
def test_a_waited_for_address_within_quarantine_is_never_offered(state: dict[str, object]
                                                                 ) -> None:
    used, items = split(state)
    offered = order(used, items)
    blocked = {f.address for f in items if f.waiting and NOW - f.freed_at < QUARANTINE}
    assert not blocked & set(offered)
    assert not used & set(offered)
    assert len(offered) == len(set(offered))


@settings(max_examples=300, deadline=None)
@given(states)
def test_never_freed_come_first_lowest_first_then_least_recently_freed(
        state: dict[str, object]) -> None:
    used, items = split(state)
    offered = order(used, items)
    freed_at = {f.address: f.freed_at for f in items}
    never = [a for a in offered if a not in freed_at]
    reused = [a for a in offered if a in freed_at]
    assert offered == never + reused
    assert never == sorted(never, key=lambda a: int(ipaddress.ip_address(a)))
    assert [freed_at[a] for a in reused] == sorted(freed_at[a] for a in reused)
    # Nothing free is left out: every untouched address, every settled or expired one.
    expected = {a for a in POOL_ADDRESSES if a not in used and a not in freed_at}
    expected |= {f.address for f in items if ipam.reusable(f, NOW, QUARANTINE)}
    assert set(offered) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, QUARANTINE.seconds - 1), min_size=len(POOL_ADDRESSES),
                max_size=len(POOL_ADDRESSES)))
def test_only_quarantined_addresses_left_means_exhausted(ages: list[int]) -> None:
    items = [freed(a, age, True) for a, age in zip(POOL_ADDRESSES, ages, strict=True)]
    assert order(set(), items) == []
    # One agent's confirmation (its waits gone) is enough to offer that address again.
    settled = [*items[1:], ipam.FreedAddress(items[0].address, items[0].freed_at, False)]
    assert order(set(), settled) == [items[0].address]


def test_quarantine_ends_by_time_even_if_an_agent_never_confirms() -> None:
    items = [freed("10.0.0.2", QUARANTINE.seconds, True),
             freed("10.0.0.3", QUARANTINE.seconds - 1, True)]
    used = set(POOL_ADDRESSES) - {"10.0.0.2", "10.0.0.3"}
    assert order(used, items) == ["10.0.0.2"]


def test_the_address_freed_last_is_handed_out_last() -> None:
    used = set(POOL_ADDRESSES) - {"10.0.0.4", "10.0.0.5", "10.0.0.6"}
    items = [freed("10.0.0.4", 5, False), freed("10.0.0.5", 50, False),
             freed("10.0.0.6", 20, False)]
    assert order(used, items) == ["10.0.0.5", "10.0.0.6", "10.0.0.4"]


def test_a_freed_address_outside_the_pools_is_not_offered() -> None:
    used = set(POOL_ADDRESSES)
    assert order(used, [freed("10.0.0.15", 900, False)]) == []
