"""The time limit of a move whose target never becomes ready (scheduler/moves.py:
timed_out, move_step's TIME_OUT, stuck_action), on plain data."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.scheduler.moves import (
    FINISH,
    KEEP,
    REPORT,
    RETARGET,
    RETRY,
    TIME_OUT,
    WAIT,
    move_step,
    stuck_action,
    timed_out,
)
from neutrino.scheduler.readiness import BindingFacts

NOW = datetime(2026, 12, 1, 20, 0, 0)


def b(agent_id: str, applied: int | None, wired: bool | None = None) -> BindingFacts:
    return BindingFacts(agent_id, applied, 1, wired)


@pytest.mark.parametrize(("waited", "timeout", "expected"), [
    (299.9, 300, False),
    (300.0, 300, False),   # "longer than": the limit itself is still in time
    (300.1, 300, True),
    (10**6, 0, False),     # 0: no limit
    (-5, 300, False),      # a target chosen "in the future" (clock step): not late
])
def test_a_target_times_out_only_after_the_limit(waited: float, timeout: int,
                                                 expected: bool) -> None:
    assert timed_out(NOW - timedelta(seconds=waited), NOW, timeout) is expected


@pytest.mark.parametrize(("source", "target", "usable", "step"), [
    (b("x", 1), b("y", None), True, TIME_OUT),          # alive, never confirmed
    (b("x", 1), b("y", 1, wired=False), True, TIME_OUT),  # confirmed, port never wired
    (b("x", 1), b("y", 1), True, FINISH),               # ready late: the move just ends
    (b("x", 1), b("y", None), False, RETARGET),         # dead or disabled: as before
    (b("x", None), b("y", None), True, FINISH),         # x serves nothing to keep
])
def test_a_late_target_times_out_only_while_usable_and_loading(
        source: BindingFacts, target: BindingFacts, usable: bool, step: str) -> None:
    assert move_step(source, target, usable, False, timed_out=True) == step


def test_in_time_the_move_waits() -> None:
    assert move_step(b("x", 1), b("y", None), True, False, timed_out=False) == WAIT


@pytest.mark.parametrize(("reported", "other", "action"), [
    (False, "z", RETRY),
    (True, "z", RETRY),     # an agent that can take it appeared since the report
    (False, None, REPORT),  # reported once...
    (True, None, KEEP),     # ... and not again
])
def test_a_timed_out_move_retries_elsewhere_or_is_reported_once(
        reported: bool, other: str | None, action: str) -> None:
    assert stuck_action(reported, other) == action


@given(source=st.builds(b, st.just("x"), st.one_of(st.none(), st.integers(0, 3)),
                        st.sampled_from([None, True, False])),
       target=st.one_of(st.none(), st.builds(b, st.just("y"),
                                             st.one_of(st.none(), st.integers(0, 3)),
                                             st.sampled_from([None, True, False]))),
       usable=st.booleans(), dead=st.booleans(), late=st.booleans(), reported=st.booleans(),
       other=st.sampled_from([None, "z"]))
def test_a_serving_source_goes_only_once_a_replacement_is_ready(
        source: BindingFacts, target: BindingFacts | None, usable: bool, dead: bool,
        late: bool, reported: bool, other: str | None) -> None:
    """Whatever the time limit says, the source's binding is removed (FINISH) only when the
    target is ready, the source serves nothing, or failover judged it dead; a stuck move
    never ends in a removal (stuck_action only retries, reports or keeps)."""
    step = move_step(source, target, usable, dead, timed_out=late)
    if step == FINISH:
        assert (target is not None and target.ready) or not source.ready or dead
    if step == TIME_OUT:
        assert late and usable and source.ready and target is not None and not target.ready
        assert stuck_action(reported, other) in (RETRY, REPORT, KEEP)
