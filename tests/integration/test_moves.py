"""Make-before-break moves on a real server (SQLite and PostgreSQL) with fake DHCP agents
that confirm networks when the test says: the source stays until the target is ready, a
restarted server finishes a move, a dead target is replaced or the move given up, and the
API's removal waits for a loading binding."""
from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator

import pytest

from neutrino.config import ServerSettings
from neutrino.services.moves import Moves
from tests.support.databases import fresh_database
from tests.support.fake_dhcp_hosts import FakeDhcpHosts
from tests.support.server import RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

DOWN_TIME = 2
CIDRS = (f"10.70.{i}.0/24" for i in itertools.count())
SETTINGS = {"agent_down_time": DOWN_TIME, "dhcp_agents_per_network": 1,
            "network_auto_schedule": False, "dhcp_failover_grace": 0}


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    with fresh_database(request.param, str(tmp_path_factory.mktemp("db"))) as url:
        yield url


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")), **SETTINGS)
    with running_server(settings) as running:
        yield running


def moves_of(server: RunningServer) -> Moves:
    moves: Moves = server.app.state.services.moves
    return moves


def hosting(server: RunningServer, network_id: str) -> dict[str, str]:
    """host -> binding state (ready, loading, leaving)."""
    with server.client() as c:
        r = c.get(f"/v2.0/networks/{network_id}/dhcp-agents")
        assert r.status_code == 200, r.text
        return {a["host"]: a["dhcp_state"] for a in r.json()["agents"]}


def network_on(server: RunningServer, hosts: FakeDhcpHosts, host: str) -> str:
    """A network with a DHCP subnet, hosted (and confirmed) by `host` alone."""
    with server.client() as c:
        r = c.post("/v2.0/networks", json={"network": {"name": "moving"}})
        assert r.status_code == 201, r.text
        net_id: str = r.json()["network"]["id"]
        r = c.post("/v2.0/subnets", json={"subnet": {"network_id": net_id,
                                                     "cidr": next(CIDRS), "ip_version": 4}})
        assert r.status_code == 201, r.text
        r = c.post(f"/v2.0/agents/{hosts.ids[host]}/dhcp-networks", json={"network_id": net_id})
        assert r.status_code == 201, r.text
    hosts.confirm(host, [net_id])
    assert hosting(server, net_id) == {host: "ready"}
    return net_id


def names() -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:6]
    return f"{tag}-x", f"{tag}-y", f"{tag}-z"


def test_source_serves_until_target_confirms(server: RunningServer) -> None:
    x, y, _ = names()
    with FakeDhcpHosts(server) as hosts:
        hosts.start(x)
        hosts.start(y)
        net = network_on(server, hosts, x)
        info = moves_of(server).request(net, hosts.ids[x], hosts.ids[y], "test")
        assert (info.to_agent_id, info.done) == (hosts.ids[y], False)
        assert hosting(server, net) == {x: "leaving", y: "loading"}
        # Asking again changes nothing; a check while y is loading keeps x.
        assert moves_of(server).request(net, hosts.ids[x], None, "again") == info
        moves_of(server).check()
        assert hosting(server, net) == {x: "leaving", y: "loading"}
        with server.client() as c:
            shown = c.get(f"/v2.0/agents/{hosts.ids[y]}").json()["agent"]["configurations"]
            assert (shown["networks_loading"], shown["networks_ready"]) == (1, 0)
        hosts.confirm(y, [net])
        assert hosting(server, net) == {y: "ready"}  # finished by the confirmation itself
        with server.client() as c:
            shown = c.get(f"/v2.0/agents/{hosts.ids[y]}").json()["agent"]["configurations"]
            assert (shown["networks_loading"], shown["networks_ready"]) == (0, 1)
        assert moves_of(server).pending(hosts.ids[x]) == []


@pytest.mark.parametrize(("reason", "kind"), [("drain of agent x", "drain"),
                                              ("rebalance: even out", "rebalance"),
                                              ("operator's move", "move")])
def test_a_finished_move_is_in_the_agent_history(server: RunningServer, reason: str,
                                                 kind: str) -> None:
    x, y, _ = names()
    with FakeDhcpHosts(server) as hosts:
        hosts.start(x)
        hosts.start(y)
        net = network_on(server, hosts, x)
        moves_of(server).request(net, hosts.ids[x], hosts.ids[y], reason)

        def entries() -> list[dict[str, object]]:
            with server.client() as c:
                r = c.get("/v2.0/agent-history", params={"network_id": net, "kind": kind})
                assert r.status_code == 200, r.text
                found: list[dict[str, object]] = r.json()["agent_history"]
                return found

        assert entries() == []  # requested, not done: x still serves
        hosts.confirm(y, [net])
        entry = wait_until(entries, 10, message=f"a {kind} entry")[0]
        assert (entry["from_agent_id"], entry["to_agent_id"], entry["reason"],
                entry["actor"]) == (hosts.ids[x], hosts.ids[y], reason, "server")


def test_target_chosen_by_the_server_is_a_live_enabled_agent(server: RunningServer) -> None:
    x, y, z = names()
    with FakeDhcpHosts(server) as hosts:
        for host in (x, y, z):
            hosts.start(host)
        with server.client() as c:
            r = c.put(f"/v2.0/agents/{hosts.ids[z]}", json={"agent": {"admin_state_up": False}})
            assert r.status_code == 200, r.text
        hosts.silence(y)
        net = network_on(server, hosts, x)
        wait_until(lambda: not any(a["alive"] for a in server.client().get(
            "/v2.0/agents", params={"host": y}).json()["agents"]), 10)
        # Every other agent of earlier tests is dead by now or disabled: nobody can take it.
        with server.client() as c:
            for a in c.get("/v2.0/agents", params={"agent_type": "DHCP agent"}).json()["agents"]:
                if a["alive"] and a["host"] != x:
                    c.put(f"/v2.0/agents/{a['id']}", json={"agent": {"admin_state_up": False}})
        with pytest.raises(Exception, match="No live, enabled DHCP agent"):
            moves_of(server).request(net, hosts.ids[x], None, "test")
        assert hosting(server, net) == {x: "ready"}


def test_move_whose_target_dies_is_retargeted_or_given_up(server: RunningServer) -> None:
    x, y, z = names()
    with FakeDhcpHosts(server) as hosts:
        hosts.start(x)
        hosts.start(y)
        net = network_on(server, hosts, x)
        moves_of(server).request(net, hosts.ids[x], hosts.ids[y], "test")
        hosts.start(z)
        hosts.silence(y)  # dies while loading: z takes the move over
        wait_until(lambda: hosting(server, net) == {x: "leaving", z: "loading"}, 15)
        hosts.confirm(z, [net])
        assert hosting(server, net) == {z: "ready"}

        net2 = network_on(server, hosts, x)
        moves_of(server).request(net2, hosts.ids[x], hosts.ids[z], "test")
        hosts.silence(z)  # and nobody else can take it: x keeps it
        wait_until(lambda: hosting(server, net2) == {x: "ready"}, 15)
        assert moves_of(server).pending(hosts.ids[x]) == []


def test_dead_source_leaves_its_move_to_the_target_and_failover_adds_nobody(
        server: RunningServer) -> None:
    x, y, z = names()
    with FakeDhcpHosts(server) as hosts:
        for host in (x, y, z):
            hosts.start(host)
        net = network_on(server, hosts, x)
        moves_of(server).request(net, hosts.ids[x], hosts.ids[y], "test")
        hosts.silence(x)  # judged dead after agent_down_time (+ grace 0): y replaces it
        wait_until(lambda: hosting(server, net) == {y: "loading"}, 15)
        hosts.confirm(y, [net])
        assert hosting(server, net) == {y: "ready"}  # z was never added by failover


def test_removal_waits_for_the_loading_binding(server: RunningServer) -> None:
    x, y, _ = names()
    with FakeDhcpHosts(server) as hosts:
        hosts.start(x)
        hosts.start(y)
        net = network_on(server, hosts, x)
        with server.client() as c:
            r = c.post(f"/v2.0/agents/{hosts.ids[y]}/dhcp-networks", json={"network_id": net})
            assert r.status_code == 201, r.text
            r = c.delete(f"/v2.0/agents/{hosts.ids[x]}/dhcp-networks/{net}")
            assert r.status_code == 204, r.text
            assert hosting(server, net) == {x: "leaving", y: "loading"}
            # Removing it again while it leaves: the same answer, nothing changes.
            r = c.delete(f"/v2.0/agents/{hosts.ids[x]}/dhcp-networks/{net}")
            assert r.status_code == 204, r.text
        hosts.confirm(y, [net])
        assert hosting(server, net) == {y: "ready"}
        with server.client() as c:  # with another ready binding, a removal is immediate
            c.post(f"/v2.0/agents/{hosts.ids[x]}/dhcp-networks", json={"network_id": net})
        hosts.confirm(x, [net])
        with server.client() as c:
            r = c.delete(f"/v2.0/agents/{hosts.ids[y]}/dhcp-networks/{net}")
            assert r.status_code == 204, r.text
        assert hosting(server, net) == {x: "ready"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_restarted_server_finishes_the_move(kind: str,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """A database of its own and a long agent_down_time: nothing but the restart matters
    (the agents' heartbeats fail while no server listens)."""
    with fresh_database(kind, str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("restart")),
                                **{**SETTINGS, "agent_down_time": 30})
        restart_and_finish(settings)


def restart_and_finish(settings: ServerSettings) -> None:
    x, y, _ = names()
    with running_server(settings) as first:
        hosts = FakeDhcpHosts(first)
        hosts.__enter__()
        try:
            hosts.start(x)
            hosts.start(y)
            net = network_on(first, hosts, x)
            moves_of(first).request(net, hosts.ids[x], hosts.ids[y], "test")
            port = int(first.url.rsplit(":", 1)[1])
        except BaseException:
            hosts.__exit__()
            raise
    with contextlib.ExitStack() as stack:
        stack.callback(hosts.__exit__)
        second = stack.enter_context(running_server(settings, port=port))
        assert [m.network_id for m in moves_of(second).pending(hosts.ids[x])] == [net]
        assert hosting(second, net) == {x: "leaving", y: "loading"}
        hosts.confirm(y, [net])
        assert hosting(second, net) == {y: "ready"}
