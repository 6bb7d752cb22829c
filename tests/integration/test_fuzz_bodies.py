"""Random request bodies never make the server fail: every answer is a success or a 4xx
NeutronError (SQLite only; the bad-input suite covers the three databases)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutrino.api import attributes
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


@FUZZ
@given(body=body_for("agent", attributes.AGENT_ATTRS), query=st.dictionaries(
    st.sampled_from(["limit", "marker", "sort_key", "sort_dir", "fields", "host"]),
    st.text(max_size=8), max_size=3))
def test_agent_updates_and_queries_never_fail_the_server(server: RunningServer, body: Any,
                                                         query: dict[str, str]) -> None:
    with server.client() as c:
        check(c.get("/v2.0/networks", params=query))
        check(c.put("/v2.0/agents/00000000-0000-0000-0000-000000000000", json=body))
