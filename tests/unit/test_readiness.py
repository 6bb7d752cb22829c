"""The ready rule and the removal that waits (scheduler/readiness.py), on plain data."""
from __future__ import annotations

import pytest

from neutrino.scheduler.readiness import (
    LEAVING,
    LOADING,
    READY,
    BindingFacts,
    binding_state,
    is_ready,
    removal_waits_for,
)


@pytest.mark.parametrize(("applied", "bound", "ready"), [
    (None, 3, False),     # confirmed nothing since it was bound
    (2, 3, False),        # a confirmation from before the binding
    (3, 3, True),         # the revision it was bound at
    (7, 3, True),         # a later one: the network changed, it still serves it
    (None, None, False),  # made before migration 0009, nothing confirmed
    (0, None, True),      # made before migration 0009, confirmed
])
def test_binding_is_ready_once_it_confirms_a_revision_since_it_was_bound(
        applied: int | None, bound: int | None, ready: bool) -> None:
    assert is_ready(applied, bound) is ready


def test_binding_waits_for_its_dhcp_port_wired_where_the_host_has_an_l2_agent() -> None:
    assert is_ready(3, 3, wired=False) is False  # dnsmasq runs, no VM can reach it yet
    assert is_ready(3, 3, wired=True) is True
    assert is_ready(3, 3, wired=None) is True    # no L2 agent on its host: nothing to wait for
    assert is_ready(None, 3, wired=True) is False
    assert binding_state(3, 3, leaving=False, wired=False) == LOADING


def test_binding_state_shows_loading_ready_or_leaving() -> None:
    assert binding_state(None, 1, leaving=False) == LOADING
    assert binding_state(None, 1, leaving=True) == LOADING  # serves nothing to keep
    assert binding_state(1, 1, leaving=False) == READY
    assert binding_state(1, 1, leaving=True) == LEAVING


def facts(agent: str, applied: int | None, bound: int = 1) -> BindingFacts:
    return BindingFacts(agent, applied, bound)


def test_removal_of_last_ready_binding_waits_for_the_loading_one() -> None:
    assert removal_waits_for(facts("x", 1), [facts("y", None)]) == "y"


def test_removal_waits_for_one_loading_binding_chosen_by_id() -> None:
    assert removal_waits_for(facts("x", 1), [facts("z", None), facts("y", 0)]) == "y"


@pytest.mark.parametrize(("removed", "others"), [
    (facts("x", 1), [facts("y", 1)]),                    # another serves
    (facts("x", 1), [facts("y", 1), facts("z", None)]),  # another serves
    (facts("x", None), [facts("y", None)]),              # it serves nothing itself
    (facts("x", 1), []),                                 # the only one: operator's choice
])
def test_removal_is_immediate_when_no_request_can_be_lost(
        removed: BindingFacts, others: list[BindingFacts]) -> None:
    assert removal_waits_for(removed, others) is None
