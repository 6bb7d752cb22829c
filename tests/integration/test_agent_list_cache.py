"""Two servers on one database, each listing agents from its own copy
(services/agent_list_cache.py): what changes through one, the other's next list shows,
and every list equals what the rows say (the SQL path: an explicit sort key).

Server B lists first in each case, so its copy is loaded before A changes anything.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.config import ServerSettings
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agents import agent_client, dhcp_state, l2_state, register
from tests.support.server import RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

Pair = tuple[RunningServer, RunningServer]


@pytest.fixture(scope="module")
def pair(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    def settings() -> ServerSettings:
        return settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=3600)
    with running_server(settings()) as a, running_server(settings()) as b:
        yield a, b


def listed(server: RunningServer, **params: str) -> list[dict[str, Any]]:
    with server.client() as c:
        r = c.get("/v2.0/agents", params=params)
    assert r.status_code == 200, r.text
    agents: list[dict[str, Any]] = r.json()["agents"]
    return agents


def by_id(agents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in agents}


def from_rows(server: RunningServer) -> list[dict[str, Any]]:
    """The list as the rows give it: a sort key takes the SQL path, not the copy."""
    return listed(server, sort_key="host")


def host() -> str:
    return f"cache-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(pair: Pair) -> HttpAgentClient:
    return agent_client(pair[0])


def test_a_registration_through_one_server_is_in_the_others_next_list(
        pair: Pair, client: HttpAgentClient) -> None:
    _, b = pair
    before = by_id(listed(b))
    l2, dhcp = register(client, host())
    after = by_id(listed(b))
    assert set(after) - set(before) == {l2.agent_id, dhcp.agent_id}
    assert after == by_id(from_rows(b))


def test_admin_state_and_description_set_through_one_server_show_on_the_other(
        pair: Pair, client: HttpAgentClient) -> None:
    a, b = pair
    _, dhcp = register(client, host())
    assert by_id(listed(b))[dhcp.agent_id]["admin_state_up"] is True
    with a.client() as c:
        r = c.put(f"/v2.0/agents/{dhcp.agent_id}",
                  json={"agent": {"admin_state_up": False, "description": "rack 7"}})
    assert r.status_code == 200, r.text
    shown = by_id(listed(b))[dhcp.agent_id]
    assert (shown["admin_state_up"], shown["description"]) == (False, "rack 7")
    with a.client() as c:  # a description alone is news for the copies too
        r = c.put(f"/v2.0/agents/{dhcp.agent_id}", json={"agent": {"description": "rack 8"}})
    assert r.status_code == 200, r.text
    assert by_id(listed(b))[dhcp.agent_id]["description"] == "rack 8"


def test_a_routine_heartbeats_new_configurations_reach_the_other_servers_list(
        pair: Pair, client: HttpAgentClient) -> None:
    _, b = pair
    name = host()
    _, dhcp = register(client, name)
    old = by_id(listed(b))[dhcp.agent_id]
    assert old["configurations"]["networks"] == 0
    # Routine: acknowledged from A's memory, written by its coalesced flush.
    client.report_state(dhcp_state(name, networks=3))
    shown = wait_until(lambda: (lambda agent: agent if agent["configurations"]["networks"] == 3
                                else None)(by_id(listed(b))[dhcp.agent_id]),
                       message="B's list to show the new configurations")
    assert shown["heartbeat_timestamp"] > old["heartbeat_timestamp"]
    assert shown["alive"] is True
    assert by_id(listed(b)) == by_id(from_rows(b))


def test_a_restart_shows_its_new_started_at_on_the_other_server(
        pair: Pair, client: HttpAgentClient) -> None:
    _, b = pair
    name = host()
    l2, _ = register(client, name)
    old = by_id(listed(b))[l2.agent_id]
    client.report_state(l2_state(name, start=True))
    assert by_id(listed(b))[l2.agent_id]["started_at"] > old["started_at"]


def test_an_agent_deleted_through_one_server_leaves_the_others_list(
        pair: Pair, client: HttpAgentClient) -> None:
    a, b = pair
    l2, dhcp = register(client, host())
    assert dhcp.agent_id in by_id(listed(b))
    with a.client() as c:
        assert c.delete(f"/v2.0/agents/{dhcp.agent_id}").status_code == 204
    shown = by_id(listed(b))
    assert dhcp.agent_id not in shown and l2.agent_id in shown


def test_pages_from_the_copy_walk_the_rows_order(pair: Pair, client: HttpAgentClient) -> None:
    _, b = pair
    for _ in range(3):
        register(client, host())
    rows = from_rows(b)
    seen: list[str] = []
    marker: str | None = None
    while True:
        params = {"limit": "2", **({"marker": marker} if marker else {})}
        with b.client() as c:
            body = c.get("/v2.0/agents", params=params).json()
        seen += [agent["id"] for agent in body["agents"]]
        if "agents_links" not in body:
            break
        marker = seen[-1]
    # One L2 and one DHCP agent per host, hosts of one spelling: a sort by host alone
    # keeps the rows' order (host, agent type, id).
    assert seen == [agent["id"] for agent in rows] == [agent["id"] for agent in listed(b)]
