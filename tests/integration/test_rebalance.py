"""Rebalance on a real server: the plan from the database (REST and `neutrino
dhcp-agent-rebalance --dry-run`), carried out make-before-break with progress, and by
itself when an agent joins ([DEFAULT] dhcp_rebalance_on_agent_join); admin only.

Fake DHCP agents heartbeat over HTTP and confirm their networks when the test lets them
(tests/support/fake_dhcp_hosts.py).
"""
from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator

import pytest

from neutrino.cli.main import main
from tests.support.databases import fresh_database
from tests.support.fake_dhcp_hosts import FakeDhcpHosts
from tests.support.server import USERS, RunningServer, body_of, running_server, settings_for
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=10, dhcp_agents_per_network=1)
    with running_server(settings) as running:
        yield running


def cli(server: RunningServer, *args: str) -> tuple[int, str, str]:
    user, password, project = USERS["admin"]
    out, err = io.StringIO(), io.StringIO()
    code = main(["--os-auth-url", f"{server.url}/v3", "--os-username", user,
                 "--os-password", password, "--os-project-name", project, *args],
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def hosting(server: RunningServer) -> dict[str, set[str]]:
    """Network id -> hosts of its DHCP agents."""
    with server.client() as c:
        agents = body_of(c.get("/v2.0/agents", params={"agent_type": "DHCP agent"}))["agents"]
        out: dict[str, set[str]] = {}
        for agent in agents:
            nets = body_of(c.get(f"/v2.0/agents/{agent['id']}/dhcp-networks"))["networks"]
            for net in nets:
                out.setdefault(net["id"], set()).add(agent["host"])
    return out


def make_networks(server: RunningServer, count: int) -> list[str]:
    ids = []
    with server.client() as c:
        for i in range(count):
            net = body_of(c.post("/v2.0/networks", json={"network": {"name": f"rb{i}"}}))
            ids.append(net["network"]["id"])
            body_of(c.post("/v2.0/subnets", json={"subnet": {
                "network_id": ids[-1], "cidr": f"10.71.{i}.0/24", "ip_version": 4}}))
    return ids


def load(server: RunningServer) -> dict[str, int]:
    counted: dict[str, int] = {}
    for hosts in hosting(server).values():
        for host in hosts:
            counted[host] = counted.get(host, 0) + 1
    return counted


def pending(server: RunningServer) -> list[dict[str, str]]:
    with server.client() as c:
        moves: list[dict[str, str]] = body_of(
            c.get("/v2.0/dhcp-agent-rebalance/moves"))["moves"]
    return moves


def test_a_third_agent_gets_its_share_make_before_break(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    a, b, c = (f"{tag}-{n}" for n in "abc")
    with FakeDhcpHosts(server) as hosts:
        for host in (a, b):
            hosts.start(host, auto=True)
        make_networks(server, 6)
        before = hosting(server)
        assert load(server) == {a: 3, b: 3}
        hosts.start(c)  # joins empty: dhcp_rebalance_on_agent_join is off

        # The plan, changing nothing.
        with server.client() as http:
            plan = body_of(http.get("/v2.0/dhcp-agent-rebalance"))["rebalance"]
        assert plan["dry_run"] is True and plan["load_type"] == "networks"
        moves = plan["moves"]
        assert len(moves) == 2
        assert {m["to_host"] for m in moves} == {c}
        assert {m["from_host"] for m in moves} == {a, b}
        for move in moves:
            assert move["from_host"] in before[move["network_id"]]
            assert move["reason"].startswith("evens out load (networks): ")
        loads = {x["host"]: (x["load_before"], x["load_after"]) for x in plan["agents"]}
        assert loads == {a: (3, 2), b: (3, 2), c: (0, 2)}
        code, out, err = cli(server, "dhcp-agent-rebalance", "--dry-run")
        assert code == 0, err
        assert "Would move 2 network(s) to even out DHCP agents' load (networks):" in out
        for move in moves:
            assert f"network {move['network_id']}: {move['from_host']} -> {c} (" in out
        assert f"{c} (nova): 0 -> 2" in out
        assert hosting(server) == before

        # Carried out: c is bound at once, a and b keep serving until c is ready.
        result: list[tuple[int, str, str]] = []
        watcher = threading.Thread(target=lambda: result.append(
            cli(server, "dhcp-agent-rebalance", "--timeout", "60")))
        watcher.start()
        wait_until(lambda: len(pending(server)) == 2, 20, message="two pending moves")
        now = hosting(server)
        for move in moves:
            assert now[move["network_id"]] == {move["from_host"], c}
        with server.client() as http:  # asked again meanwhile: nothing more to do
            assert body_of(http.get("/v2.0/dhcp-agent-rebalance"))["rebalance"]["moves"] == []
        hosts.confirm(c, [m["network_id"] for m in moves])
        watcher.join(60)
        assert result, "the CLI did not finish"
        code, out, err = result[0]
        assert code == 0, (out, err)
        assert err.count("moved network ") == 2 and "2/2 moved network " in err
        assert "Rebalanced: 2 network(s) moved." in out
        assert load(server) == {a: 2, b: 2, c: 2}
        assert pending(server) == []


@pytest.fixture(scope="module")
def auto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with fresh_database("sqlite", str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("state")),
                                agent_down_time=10, dhcp_rebalance_on_agent_join=True)
        with running_server(settings) as running:
            yield running


def test_an_agent_joining_gets_its_share_by_itself_when_asked_to(auto_server: RunningServer
                                                                  ) -> None:
    server = auto_server
    tag = uuid.uuid4().hex[:6]
    a, b = f"{tag}-a", f"{tag}-b"
    with FakeDhcpHosts(server) as hosts:
        hosts.start(a, auto=True)
        make_networks(server, 4)
        assert load(server) == {a: 4}
        hosts.start(b, auto=True)
        wait_until(lambda: load(server) == {a: 2, b: 2} and not pending(server), 30,
                   message="the new agent to take half")


def test_only_admins_rebalance(server: RunningServer) -> None:
    with server.client("member") as http:
        for method in ("GET", "POST"):
            r = http.request(method, "/v2.0/dhcp-agent-rebalance")
            assert r.status_code == 403, r.text
            assert r.json()["NeutronError"]["type"] == "PolicyNotAuthorized"
    with server.client(None) as http:
        assert http.get("/v2.0/dhcp-agent-rebalance").status_code == 401


@pytest.fixture(scope="module")
def ports_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with fresh_database("sqlite", str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("state")),
                                agent_down_time=10, dhcp_load_type="ports")
        with running_server(settings) as running:
            yield running


def test_under_dhcp_load_type_ports_a_network_weighs_its_ports(ports_server: RunningServer
                                                                ) -> None:
    server = ports_server
    tag = uuid.uuid4().hex[:6]
    a, b = f"{tag}-a", f"{tag}-b"
    with FakeDhcpHosts(server) as hosts:
        hosts.start(a)
        nets = make_networks(server, 3)
        with server.client() as c:
            for net_id, ports in zip(nets, (4, 1, 1), strict=True):
                for _ in range(ports):
                    body_of(c.post("/v2.0/ports", json={"port": {"network_id": net_id}}))
        hosts.start(b)
        with server.client() as c:
            plan = body_of(c.get("/v2.0/dhcp-agent-rebalance"))["rebalance"]
    # a carries 6: moving the 4-port network (to 2 / 4) evens out best; then no network
    # is light enough to narrow a gap of 2.
    assert plan["load_type"] == "ports"
    assert [(m["network_id"], m["to_host"]) for m in plan["moves"]] == [(nets[0], b)]
    assert plan["moves"][0]["reason"] == f"evens out load (ports): {a} 6 -> 2, {b} 0 -> 4"
