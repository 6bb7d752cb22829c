"""One agent view: list, show, update and dhcp-agents return the same agent (real server);
show adds a DHCP agent's readiness counts, dhcp-agents the state of each binding."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.agent_protocol.messages import AgentState
from neutrino.services.moves import BINDING_STATES
from tests.support.agents import agent_client, dhcp_state
from tests.support.databases import fresh_database
from tests.support.server import RunningServer

READINESS = {f"networks_{state}" for state in BINDING_STATES}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The view is built above the database; one engine shows whether list and show agree.
    with fresh_database("sqlite", str(tmp_path_factory.mktemp("db"))) as url:
        yield url


def listed(server: RunningServer, agent_id: str) -> dict[str, Any]:
    with server.client() as c:
        agents = c.get("/v2.0/agents").json()["agents"]
    return next(a for a in agents if a["id"] == agent_id)


def without_readiness(agent: dict[str, Any]) -> dict[str, Any]:
    """The agent without what agent-show and agent-update add to the list's view: a DHCP
    agent's readiness counts in `configurations` (ready, loading, leaving)."""
    counts = {k for k in agent["configurations"] if k in READINESS}
    assert counts == (READINESS if agent["agent_type"] == "DHCP agent" else set()), agent
    return {**agent, "configurations": {k: v for k, v in agent["configurations"].items()
                                        if k not in READINESS}}


def shown(server: RunningServer, agent_id: str) -> dict[str, Any]:
    with server.client() as c:
        return without_readiness(dict(c.get(f"/v2.0/agents/{agent_id}").json()["agent"]))


def test_agent_list_and_show_return_the_same_agent(server: RunningServer) -> None:
    state = dhcp_state(f"view-{uuid.uuid4().hex[:6]}", start=True)
    state = AgentState(**{**state.model_dump(), "resource_versions": {"Port": "1.1"}})
    agent_id = agent_client(server).report_state(state).agent_id
    show = shown(server, agent_id)
    assert listed(server, agent_id) == show
    assert show["resource_versions"] == {"Port": "1.1"} and show["alive"] is True
    with server.client() as c:
        updated = c.put(f"/v2.0/agents/{agent_id}",
                        json={"agent": {"description": "seen"}}).json()["agent"]
    assert without_readiness(updated) == shown(server, agent_id) == listed(server, agent_id)
    assert updated["description"] == "seen"


def test_dhcp_agents_of_a_network_are_shown_like_agent_show(server: RunningServer) -> None:
    agent_id = agent_client(server).report_state(
        dhcp_state(f"hosting-{uuid.uuid4().hex[:6]}", start=True)).agent_id
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "views"}}).json()["network"]
        added = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks",
                       json={"network_id": net["id"]})
        assert added.status_code == 201, added.text
        hosting = c.get(f"/v2.0/networks/{net['id']}/dhcp-agents").json()["agents"]
    ours = [a for a in hosting if a["id"] == agent_id]
    # Besides the agent: the state of its binding to this network (make-before-break).
    assert [a.pop("dhcp_state") for a in ours] == ["loading"]
    assert ours == [shown(server, agent_id)]
