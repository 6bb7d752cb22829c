"""GET /v2.0/agents with filters pushed into the query and keyset pages, on every database:
each answer equals what the API's list semantics (api/listing.py) make of the full list."""
from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from neutrino.api import listing
from neutrino.api.agents import AGENT_FIELDS
from neutrino.db.models import Agent
from neutrino.db.session import Database
from neutrino.services.clock import utcnow
from tests.support.agents import agent_client, register
from tests.support.server import RunningServer, running_server, settings_for

HOSTS = 9
DOWN = 3600  # long enough that no agent's liveness changes while the module runs

Params = list[tuple[str, str]]


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN)
    with running_server(settings) as running:
        yield running


@pytest.fixture(scope="module")
def fleet(server: RunningServer, db_url: str) -> list[dict[str, Any]]:
    """HOSTS hosts with an L2 (no zone) and a DHCP agent ("nova") each; some disabled, some
    dead; returns the full list as the API shows it without any query."""
    tag = uuid.uuid4().hex[:4]
    client = agent_client(server)
    ids = [register(client, f"lst{tag}-{i}") for i in range(HOSTS)]
    with server.client() as c:
        for _l2, dhcp in ids[::3]:
            r = c.put(f"/v2.0/agents/{dhcp.agent_id}", json={"agent": {"admin_state_up": False}})
            assert r.status_code == 200, r.text
    dead = [l2.agent_id for l2, _ in ids[1::2]] + [ids[2][1].agent_id]
    db = Database(db_url)
    try:
        db.run(lambda s: s.execute(update(Agent).where(Agent.id.in_(dead)).values(
            heartbeat_timestamp=utcnow() - timedelta(seconds=2 * DOWN))))
    finally:
        db.dispose()
    with server.client() as c:
        agents: list[dict[str, Any]] = c.get("/v2.0/agents").json()["agents"]
    assert len(agents) == 2 * HOSTS
    assert {a["alive"] for a in agents} == {True, False}
    assert {a["admin_state_up"] for a in agents} == {True, False}
    return agents


def old_answer(agents: list[dict[str, Any]], params: Params) -> list[dict[str, Any]]:
    """What the list was before filters went into SQL: the API semantics over all agents."""
    result, _ = listing.apply(agents, listing.parse_query(params, AGENT_FIELDS))
    return result


def get(server: RunningServer, params: Params) -> dict[str, Any]:
    with server.client() as c:
        r = c.get("/v2.0/agents", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_filters_answer_as_the_api_did_over_every_agent(
        server: RunningServer, fleet: list[dict[str, Any]]) -> None:
    a, b = fleet[0], fleet[5]
    queries: list[Params] = [
        [("agent_type", "DHCP agent")],
        [("agent_type", "Linux bridge agent"), ("agent_type", "DHCP agent")],
        [("host", a["host"]), ("host", b["host"])],
        [("binary", "neutrino-linuxbridge-agent")],
        [("topic", "dhcp_agent")],
        [("admin_state_up", "false")],
        [("admin_state_up", "True")],
        [("admin_state_up", "maybe")],
        [("availability_zone", "nova")],
        [("availability_zone", "")],
        [("id", a["id"]), ("id", b["id"])],
        [("alive", "true")],
        [("alive", "False")],
        [("alive", "true"), ("alive", "false")],
        [("alive", "false"), ("agent_type", "DHCP agent")],
        [("agent_type", "DHCP agent"), ("alive", "true"), ("admin_state_up", "true"),
         ("fields", "id"), ("fields", "host"), ("sort_key", "host"), ("sort_dir", "desc")],
        [("description", ""), ("agent_type", "DHCP agent"), ("alive", "true")],
        [("host", "no-such-host")],
        [("unknown_attribute", "x"), ("agent_type", "DHCP agent")],
    ]
    for params in queries:
        expected = old_answer(fleet, params)
        assert get(server, params)["agents"] == expected, params
    # The filters did select something (the comparisons are not all of empty lists).
    assert len(old_answer(fleet, [("alive", "false")])) == len(range(1, HOSTS, 2)) + 1


def walk(server: RunningServer, params: Params, limit: int) -> list[list[dict[str, Any]]]:
    """Every page, following the `next` links, until a page says no more follow."""
    pages = []
    query = [*params, ("limit", str(limit))]
    for _ in range(2 * HOSTS + 2):
        body = get(server, query)
        pages.append(body["agents"])
        links = body.get("agents_links")
        if not links:
            return pages
        assert links[0]["rel"] == "next" and len(body["agents"]) == limit
        marker = urllib.parse.parse_qs(urllib.parse.urlsplit(links[0]["href"]).query)["marker"]
        query = [*params, ("limit", str(limit)), ("marker", marker[0])]
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("params", [
    [],
    [("sort_key", "host"), ("sort_dir", "desc"), ("sort_key", "agent_type"),
     ("sort_dir", "asc")],
    [("agent_type", "DHCP agent"), ("sort_key", "id")],
    [("alive", "true"), ("fields", "id"), ("fields", "agent_type")],
    [("description", ""), ("sort_key", "host")],  # a filter SQL leaves to the API layer
], ids=["default-order", "two-keys", "filtered-by-id", "alive-fields", "python-filter"])
def test_pages_follow_next_links_through_the_whole_list(
        server: RunningServer, fleet: list[dict[str, Any]], params: Params) -> None:
    pages = walk(server, params, limit=4)
    assert [a for page in pages for a in page] == old_answer(fleet, params)
    assert len(pages) > 1


def test_reverse_pages_run_backwards_from_the_end(
        server: RunningServer, fleet: list[dict[str, Any]]) -> None:
    params: Params = [("page_reverse", "True")]
    pages = walk(server, params, limit=5)
    assert [a for page in reversed(pages) for a in page] == fleet
    assert pages[0] == fleet[-5:]


def test_unknown_marker_is_a_bad_request(server: RunningServer,
                                         fleet: list[dict[str, Any]]) -> None:
    with server.client() as c:
        r = c.get("/v2.0/agents", params={"limit": "2", "marker": str(uuid.uuid4())})
    assert r.status_code == 400 and "Marker" in r.json()["NeutronError"]["message"]
