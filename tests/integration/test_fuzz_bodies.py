"""Random request bodies never make the server fail: every answer is a success or a 4xx
NeutronError (SQLite only; the bad-input suite covers the three databases)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutrino.api import attributes
from tests.support.agents import agent_client, dhcp_state
from tests.support.databases import fresh_database
from tests.support.server import RunningServer, running_server, settings_for

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=40)
    | st.sampled_from(["10.0.0.0/24", "10.0.0.1", "fa:16:3e:00:00:01", "::1", "", "true"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=4),
    max_leaves=12)


def body_for(resource: str, attrs: dict[str, attributes.Attr]) -> st.SearchStrategy[Any]:
    known = st.dictionaries(st.sampled_from(sorted(attrs)), JSON, max_size=6)
    return st.one_of(
        st.builds(lambda d: {resource: d}, known),
        st.builds(lambda d: {resource: d}, st.dictionaries(st.text(max_size=10), JSON,
                                                          max_size=3)),
        JSON)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = str(tmp_path_factory.mktemp("fuzz"))
    with fresh_database("sqlite", tmp) as url, running_server(settings_for(url, tmp)) as srv:
        yield srv


def check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["NeutronError"]) == {"type", "message", "detail"}


FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=body_for("network", attributes.NETWORK_ATTRS))
def test_network_bodies_never_fail_the_server(server: RunningServer, body: Any) -> None:
    with server.client() as c:
        check(c.post("/v2.0/networks", json=body))


@FUZZ
@given(body=body_for("subnet", attributes.SUBNET_ATTRS))
def test_subnet_bodies_never_fail_the_server(server: RunningServer, body: Any) -> None:
    with server.client() as c:
        check(c.post("/v2.0/subnets", json=body))


@FUZZ
@given(body=body_for("port", attributes.PORT_ATTRS))
def test_port_bodies_never_fail_the_server(server: RunningServer, body: Any) -> None:
    with server.client() as c:
        check(c.post("/v2.0/ports", json=body))


@pytest.fixture(scope="module")
def agent_id(server: RunningServer) -> str:
    """A real DHCP agent, registered the way agents register: by reporting its state."""
    client = agent_client(server)
    try:
        return client.report_state(dhcp_state("HostFuzz", start=True)).agent_id
    finally:
        client.close()


def _agent_row(c: httpx.Client, agent_id: str) -> dict[str, Any]:
    response = c.get(f"/v2.0/agents/{agent_id}")
    assert response.status_code == 200, response.text
    row = dict(response.json()["agent"])
    row.pop("alive")  # a matter of the clock, not of the update
    return row


AGENT_QUERY_KEYS = ["limit", "marker", "sort_key", "sort_dir", "fields", "host", "id",
                    "agent_type", "binary", "topic", "admin_state_up", "alive",
                    "availability_zone", "description"]


# Random bodies are nearly all refused; well-formed ones too, so that accepted updates are
# checked against what is stored.
AGENT_UPDATES = st.builds(lambda d: {"agent": d}, st.fixed_dictionaries({}, optional={
    "admin_state_up": st.booleans(), "description": st.none() | st.text(max_size=300)}))


@FUZZ
@given(body=body_for("agent", attributes.AGENT_ATTRS) | AGENT_UPDATES)
def test_agent_updates_never_fail_the_server_and_a_refused_one_changes_nothing(
        server: RunningServer, agent_id: str, body: Any) -> None:
    with server.client() as c:
        before = _agent_row(c, agent_id)
        response = c.put(f"/v2.0/agents/{agent_id}", json=body)
        check(response)
        after = _agent_row(c, agent_id)
    if response.status_code >= 400:
        assert after == before
    else:  # what the update answered is what is stored, and only what it may change moved
        shown = dict(response.json()["agent"])
        shown.pop("alive")
        assert after == shown
        assert {k for k in after if after[k] != before[k]} <= set(attributes.AGENT_ATTRS)


@FUZZ
@given(query=st.lists(st.tuples(st.sampled_from(AGENT_QUERY_KEYS),
                                st.text(max_size=8) | st.sampled_from(
                                    ["HostFuzz", "true", "false", "DHCP agent", "id", "-1",
                                     "asc", "desc", "host"])),
                      max_size=4))
def test_agent_queries_never_fail_the_server(server: RunningServer, agent_id: str,
                                             query: list[tuple[str, str]]) -> None:
    with server.client() as c:
        response = c.get("/v2.0/agents", params=query)
        check(response)
        if response.status_code == 200:
            assert isinstance(response.json()["agents"], list)
