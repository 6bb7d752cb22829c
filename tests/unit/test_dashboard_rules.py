"""The dashboard's pure parts: its query bounds, search patterns, timeline lines, and the
server-sent events loop (framing, and each way it ends)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from neutrino.api.event_stream import Refused, RenderFailed, frame, pushes
from neutrino.errors import InvalidInput
from neutrino.services.dashboard import (
    AGENT_STATES,
    NETWORK_STATES,
    PageQuery,
    _like,
    timeline_text,
)


@pytest.mark.parametrize(("query", "message"), [
    (PageQuery(size=0), "page size 0"),
    (PageQuery(size=101), "page size 101"),
    (PageQuery(page=-1), "page number -1"),
    (PageQuery(state="gone"), "filter 'gone'"),
    (PageQuery(search="s" * 65), "65 characters long"),
])
def test_page_queries_out_of_bounds_are_invalid_input(query: PageQuery, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        query.check(AGENT_STATES, "agent")


def test_page_queries_in_bounds_pass_unchanged() -> None:
    query = PageQuery("HostA", "at_risk", 3, 100)
    assert query.check(NETWORK_STATES, "network") is query


@pytest.mark.parametrize(("search", "pattern"), [
    ("HostA", "%hosta%"),
    ("50%", "%50\\%%"),
    ("net_1", "%net\\_1%"),
    ("a\\b", "%a\\\\b%"),
])
def test_search_is_a_case_blind_substring_with_wildcards_taken_literally(
        search: str, pattern: str) -> None:
    assert _like(search) == pattern


def entry(**fields: Any) -> dict[str, Any]:
    base = {"network_id": None, "agent_id": None, "from_agent_id": None,
            "to_agent_id": None, "host": None, "reason": "", "actor": "server"}
    return {**base, **fields}


@pytest.mark.parametrize(("fields", "text"), [
    ({"kind": "failover", "network_id": "n1", "from_agent_id": "a", "to_agent_id": "b",
      "reason": "agent on HostA silent for 5 s"},
     "net1: HostA → HostB — agent on HostA silent for 5 s"),
    ({"kind": "added", "network_id": "n1", "to_agent_id": "b", "actor": "admin"},
     "net1: HostB by admin"),
    ({"kind": "dead", "agent_id": "a", "host": "HostA", "reason": "silent"},
     "HostA — silent"),
    # A deleted agent and network: the entry's host and the ids' starts stand in.
    ({"kind": "deleted", "network_id": "0123456789ab", "agent_id": "gone", "host": "HostC"},
     "01234567: HostC"),
])
def test_timeline_lines_name_networks_and_hosts(fields: dict[str, Any], text: str) -> None:
    names, hosts = {"n1": "net1"}, {"a": "HostA", "b": "HostB"}
    assert timeline_text(entry(**fields), names, hosts) == text


def test_frames_put_each_line_of_data_on_its_own_data_field() -> None:
    assert frame("view", "a\nb") == b"event: view\ndata: a\ndata: b\n\n"


def run(stream: Any) -> list[bytes]:
    async def collect() -> list[bytes]:
        return [chunk async for chunk in stream]

    return asyncio.run(collect())


async def allowed() -> None:
    return None


def test_a_stream_pushes_each_period() -> None:
    stopping = asyncio.Event()
    renders = iter(range(3))

    async def render() -> str:
        number = next(renders)
        if number == 2:
            stopping.set()
        return str(number)

    chunks = run(pushes(render, allowed, stopping, period=0.01))
    assert chunks[0].startswith(b"retry: ")
    assert chunks[1:4] == [frame("view", str(n)) for n in range(3)]
    assert chunks[4].startswith(b"event: closing") and len(chunks) == 5


def test_a_stream_closes_once_its_time_is_up_even_between_pushes() -> None:
    async def render() -> str:
        return "{}"

    chunks = run(pushes(render, allowed, asyncio.Event(), period=60, max_seconds=0.05))
    assert [c.split(b"\n")[0] for c in chunks[1:]] == [b"event: view", b"event: closing"]


def test_a_stream_ends_as_soon_as_the_server_stops() -> None:
    async def scenario() -> tuple[list[bytes], float]:
        stopping = asyncio.Event()

        async def render() -> str:
            stopping.set()  # the stop comes while the stream waits for its next push
            return "{}"

        loop = asyncio.get_running_loop()
        start = loop.time()
        chunks = [c async for c in pushes(render, allowed, stopping, period=60)]
        return chunks, loop.time() - start

    chunks, took = asyncio.run(scenario())
    assert [c.split(b"\n")[0] for c in chunks[1:]] == [b"event: view", b"event: closing"]
    assert took < 5


def test_a_refused_check_ends_the_stream_with_the_reason() -> None:
    async def refuse() -> None:
        raise Refused("The token is not valid: expired.")

    async def render() -> str:
        raise AssertionError("nothing is rendered for a refused caller")

    chunks = run(pushes(render, refuse, asyncio.Event(), period=0.01))
    assert chunks[1:] == [frame("refused", "The token is not valid: expired.")]


def test_a_failed_render_is_reported_and_the_stream_goes_on() -> None:
    stopping = asyncio.Event()
    calls = iter([RenderFailed("The database is unreachable; retrying."), "{}"])

    async def render() -> str:
        got = next(calls)
        if isinstance(got, Exception):
            raise got
        stopping.set()
        return got

    chunks = run(pushes(render, allowed, stopping, period=0.01))
    assert chunks[1] == frame("unavailable", "The database is unreachable; retrying.")
    assert chunks[2] == frame("view", "{}")
