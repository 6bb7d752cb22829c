"""A move whose target is alive but never becomes ready ([DEFAULT] dhcp_move_timeout), on a
real server (SQLite, PostgreSQL, MariaDB) with fake DHCP agents over the real HTTP
transport: the target heartbeats but never confirms the network. Once the limit passes the
move is reported stuck (binding and move state, agent-show and dashboard counts, a WARNING,
an agent-history entry) while the old agent keeps the network; an agent that can take it
gets the move instead, and the old binding goes only once that one is ready."""
from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from neutrino.services.moves import Moves
from tests.support.databases import fresh_database
from tests.support.fake_dhcp_hosts import FakeDhcpHosts
from tests.support.server import RunningServer, body_of, running_server, settings_for
from tests.support.waiting import wait_until

TIMEOUT = 2  # seconds; the moves check runs every second
CIDRS = (f"10.71.{i}.0/24" for i in itertools.count())


@pytest.fixture(params=("sqlite", "postgresql", "mariadb"))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningServer]:
    """A server of its own per database: no agent of another test can take the network."""
    with fresh_database(request.param, str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("state")),
                                agent_down_time=10, dhcp_agents_per_network=1,
                                network_auto_schedule=False, dhcp_move_timeout=TIMEOUT)
        with running_server(settings) as running:
            yield running


def hosting(server: RunningServer, network_id: str) -> dict[str, str]:
    """host -> binding state, as dhcp-agent-list-hosting-net shows it."""
    with server.client() as c:
        return {a["host"]: a["dhcp_state"] for a in body_of(
            c.get(f"/v2.0/networks/{network_id}/dhcp-agents"))["agents"]}


def stuck_entries(server: RunningServer, network_id: str) -> list[dict[str, Any]]:
    with server.client() as c:
        found: list[dict[str, Any]] = body_of(c.get("/v2.0/agent-history", params={
            "network_id": network_id, "kind": "stuck"}))["agent_history"]
        return found


def test_a_target_that_never_becomes_ready_is_reported_then_replaced(
        server: RunningServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="neutrino.services.moves")
    tag = uuid.uuid4().hex[:6]
    x, y, z = f"{tag}-x", f"{tag}-y", f"{tag}-z"
    with FakeDhcpHosts(server) as hosts, server.client() as c:
        hosts.start(x)
        hosts.start(y)  # alive, heartbeating, never confirms anything
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": f"{tag}-n"}}))[
            "network"]["id"]
        body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net, "cidr": next(CIDRS), "ip_version": 4}}))
        body_of(c.post(f"/v2.0/agents/{hosts.ids[x]}/dhcp-networks", json={"network_id": net}))
        hosts.confirm(x, [net])
        moves: Moves = server.app.state.services.moves
        moves.request(net, hosts.ids[x], hosts.ids[y], "operator's move")
        assert hosting(server, net) == {x: "leaving", y: "loading"}

        # Nobody else can take it: reported stuck once, x keeps serving.
        wait_until(lambda: hosting(server, net) == {x: "leaving", y: "stuck"}, 15,
                   message="the move reported stuck")
        [entry] = stuck_entries(server, net)
        assert (entry["from_agent_id"], entry["to_agent_id"], entry["host"]) == \
            (hosts.ids[x], hosts.ids[y], y)
        assert "no other agent can take it" in entry["reason"]
        warnings = [r.getMessage() for r in caplog.records if "stuck" in r.getMessage()]
        assert len(warnings) == 1 and net in warnings[0], warnings
        shown = body_of(c.get(f"/v2.0/agents/{hosts.ids[y]}"))["agent"]["configurations"]
        assert (shown["networks_stuck"], shown["networks_loading"]) == (1, 0)
        [move] = body_of(c.get(f"/v2.0/agents/{hosts.ids[x]}/drain"))["drain"]["moving"]
        assert move["stuck"] is True
        board = body_of(c.get("/dashboard/api/view"))["moves"]
        assert board["stuck"] == 1 and board["items"][0]["stuck_since"], board
        # Checks after the report change nothing and note nothing again.
        moves.check()
        moves.check()
        assert len(stuck_entries(server, net)) == 1
        assert hosting(server, net) == {x: "leaving", y: "stuck"}

        # An agent that can take it appears: the check's next pass retries the move there,
        # y's binding that served nothing goes, and x goes only once z is ready. z confirms
        # what it is given by itself: a test confirming it could lose the race with z's
        # own time limit on a loaded machine.
        hosts.start(z, auto=True)
        wait_until(lambda: hosting(server, net) == {z: "ready"}, 30, message="moved to z")
        newest = stuck_entries(server, net)[0]
        assert newest["reason"].endswith(f"retried on {z}"), newest
        assert (newest["from_agent_id"], newest["to_agent_id"]) == (hosts.ids[x], hosts.ids[y])
        with server.client() as c:
            [moved] = body_of(c.get("/v2.0/agent-history", params={
                "network_id": net, "kind": "move"}))["agent_history"]
        assert (moved["from_agent_id"], moved["to_agent_id"]) == (hosts.ids[x], hosts.ids[z])
        assert moved["id"] > newest["id"]  # x's binding went after the retry, not before
        assert moves.pending(hosts.ids[x]) == []


def test_a_stuck_target_that_becomes_ready_late_finishes_the_move(
        server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    x, y = f"{tag}-x", f"{tag}-y"
    with FakeDhcpHosts(server) as hosts, server.client() as c:
        hosts.start(x)
        hosts.start(y)
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": f"{tag}-n"}}))[
            "network"]["id"]
        body_of(c.post(f"/v2.0/agents/{hosts.ids[x]}/dhcp-networks", json={"network_id": net}))
        hosts.confirm(x, [net])
        moves: Moves = server.app.state.services.moves
        moves.request(net, hosts.ids[x], hosts.ids[y], "operator's move")
        wait_until(lambda: hosting(server, net) == {x: "leaving", y: "stuck"}, 15,
                   message="the move reported stuck")
        hosts.confirm(y, [net])
        assert hosting(server, net) == {y: "ready"}
