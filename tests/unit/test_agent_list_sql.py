"""Agent list queries as SQL (services/agent_listing.py): page order and filter meanings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from neutrino.db.models import Agent
from neutrino.services.agent_listing import PageRequest, filter_conditions


def test_page_order_ends_with_id_and_defaults_to_host_then_type() -> None:
    assert PageRequest(order=(), limit=5).full_order() == [
        ("host", "asc"), ("agent_type", "asc"), ("id", "asc")]
    assert PageRequest(order=(("load", "desc"), ("id", "desc")), limit=5).full_order() == [
        ("load", "desc"), ("id", "desc")]


def test_reverse_page_flips_every_direction() -> None:
    page = PageRequest(order=(("host", "desc"),), limit=5, reverse=True)
    assert page.full_order() == [("host", "asc"), ("id", "desc")]


def sql(filters: dict[str, list[str]]) -> str:
    query = select(Agent.id).where(*filter_conditions(filters, datetime(2026, 1, 1, 0, 1), 60))
    return str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_alive_is_a_heartbeat_comparison_with_the_cutoff() -> None:
    assert "heartbeat_timestamp >= '2026-01-01 00:00:00" in sql({"alive": ["True"]})
    assert "heartbeat_timestamp < '2026-01-01 00:00:00" in sql({"alive": ["false"]})
    assert "heartbeat_timestamp" not in sql({"alive": ["true", "false"]})


def test_unknown_boolean_matches_nothing_and_empty_zone_matches_null() -> None:
    assert "0 = 1" in sql({"admin_state_up": ["maybe"]})
    assert "availability_zone IS NULL" in sql({"availability_zone": [""]})
    assert "IS NULL" not in sql({"availability_zone": ["nova"]})
