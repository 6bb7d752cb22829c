"""The pure parts of the agent history: which liveness transition to note, the retention
cutoff, and what a history query string means (services/history.py, api/history.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from neutrino.api.history import parse_query
from neutrino.errors import InvalidInput
from neutrino.scheduler.liveness import ALIVE_AGAIN, DEAD, history_transition
from neutrino.services import history

NOW = datetime(2026, 12, 1, 17, 0, 0)
LONG_HEARD = NOW - timedelta(hours=1)


@pytest.mark.parametrize(("age", "noted_dead", "hearing", "expected"), [
    (1.0, False, LONG_HEARD, None),            # alive, noted alive
    (2.0, False, LONG_HEARD, None),            # exactly agent_down_time: still alive
    (2.5, False, LONG_HEARD, DEAD),            # silent past agent_down_time while heard
    (2.5, False, NOW - timedelta(seconds=1), None),  # silent, but the server just started
    (2.5, False, None, None),                  # silent while the server hears nobody
    (2.5, True, LONG_HEARD, None),             # dead, already noted
    (1.0, True, LONG_HEARD, ALIVE_AGAIN),      # reporting again
    (1.0, True, None, ALIVE_AGAIN),            # a report is news even while deaf
])
def test_history_notes_deaths_heard_and_every_revival(
        age: float, noted_dead: bool, hearing: datetime | None, expected: str | None) -> None:
    heartbeat = NOW - timedelta(seconds=age)
    assert history_transition(heartbeat, noted_dead, NOW, hearing, 2) == expected


def test_retention_cutoff_is_off_at_zero_days() -> None:
    assert history.retention_cutoff(NOW, 0) is None
    assert history.retention_cutoff(NOW, 30) == NOW - timedelta(days=30)


def test_note_knows_every_kind_other_helpers_use() -> None:
    for kind in ("scheduled", "added", "removed", "failover", "drain", "rebalance", "move", "stuck",
                 "registered", "dead", "alive_again", "disabled", "enabled", "deleted"):
        assert kind in history.KINDS
    with pytest.raises(ValueError, match="unknown agent history kind"):
        history.note(None, "exploded")  # type: ignore[arg-type]


def test_a_query_string_becomes_filters_newest_first() -> None:
    query, fields = parse_query([
        ("network_id", "n1"), ("network_id", "n2"), ("agent_id", "a"), ("kind", "failover"),
        ("since", "2026-12-01T18:00:00+01:00"), ("limit", "5"), ("marker", "42"),
        ("fields", "kind")])
    assert query == history.HistoryQuery(
        network_ids=("n1", "n2"), agent_ids=("a",), kinds=("failover",),
        since=datetime(2026, 12, 1, 17, 0, 0), limit=5, marker=42)
    assert fields == ["kind"]


@pytest.mark.parametrize(("limit", "page"), [(None, history.PAGE_MAX), ("0", history.PAGE_MAX),
                                              ("10", 10), ("100000", history.PAGE_MAX)])
def test_a_page_is_bounded_whatever_the_limit(limit: str | None, page: int) -> None:
    query, _ = parse_query([("limit", limit)] if limit is not None else [])
    assert query.limit == page


@pytest.mark.parametrize("params", [
    [("kind", "exploded")], [("since", "last tuesday")], [("limit", "-3")],
    [("marker", "0")], [("marker", "1"), ("marker", "2")], [("fields", "secret")],
    [("actor", "admin")], [("limit", str(2**64))], [("since", "9999-12-31T23:59:59-14:00")],
])
def test_bad_query_strings_say_what_is_allowed(params: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidInput):
        parse_query(params)
