"""The one agent view: the same dict from a plain row (list) and an ORM agent (show)."""
from __future__ import annotations

from datetime import datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from neutrino.db.models import Agent
from neutrino.services.clock import isoformat
from neutrino.services.views import AGENT_COLUMNS, agent_columns, agent_time, agent_view

COLUMNS = {
    "id": "a0c1", "agent_type": "DHCP agent", "binary": "neutrino-dhcp-agent",
    "topic": "dhcp_agent", "host": "HostA", "admin_state_up": True, "description": "",
    "configurations": {"networks": 2}, "resource_versions": {"Port": "1.1"},
    "availability_zone": "nova", "created_at": datetime(2024, 1, 1, 12, 0, 0),
    "started_at": datetime(2024, 1, 1, 12, 0, 0, 250000),
    "heartbeat_timestamp": datetime(2024, 1, 1, 12, 0, 5, 1), "load": 3,
}


def test_a_row_and_an_orm_agent_give_the_same_view() -> None:
    assert set(COLUMNS) == set(AGENT_COLUMNS)
    assert agent_view(agent_columns(Agent(**COLUMNS)), True) == agent_view(COLUMNS, True)


def test_the_view_has_neutrons_agent_fields_with_microsecond_timestamps() -> None:
    view = orjson.loads(orjson.dumps(agent_view(COLUMNS, False)))  # as the API sends it
    assert set(view) == {*AGENT_COLUMNS, "alive", "resources_synced"}
    assert view["alive"] is False and view["resource_versions"] == {"Port": "1.1"}
    # Whole seconds keep their ".000000": list and show print a timestamp the same way.
    assert (view["created_at"], view["started_at"], view["heartbeat_timestamp"]) == (
        "2024-01-01T12:00:00.000000", "2024-01-01T12:00:00.250000",
        "2024-01-01T12:00:05.000001")


@given(st.datetimes(min_value=datetime(2000, 1, 1)) | st.none())
def test_agent_times_reach_json_as_isoformat_with_microseconds(value: datetime | None) -> None:
    assert orjson.loads(orjson.dumps(agent_time(value))) == isoformat(value)
