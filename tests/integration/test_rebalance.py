"""Rebalance on a real server: the plan from the database (REST and `neutrino
dhcp-agent-rebalance --dry-run`), admin only; agents register by report_state over HTTP.

agent_down_time is long, so the agents registered once stay alive for the module.
"""
from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest

from neutrino.cli.main import main
from tests.support.agents import agent_client, register
from tests.support.server import USERS, RunningServer, body_of, running_server, settings_for


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=600, dhcp_agents_per_network=1)
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


def test_the_plan_gives_a_new_agent_its_share_and_changes_nothing(server: RunningServer
                                                                   ) -> None:
    tag = uuid.uuid4().hex[:6]
    a, b, c = (f"{tag}-{n}" for n in "abc")
    client = agent_client(server)
    register(client, a)
    register(client, b)
    make_networks(server, 6)
    before = hosting(server)
    assert sorted(len([n for n, h in before.items() if host in h]) for host in (a, b)) == [3, 3]
    register(client, c)  # joins empty: dhcp_rebalance_on_agent_join is off

    with server.client() as http:
        plan = body_of(http.get("/v2.0/dhcp-agent-rebalance"))["rebalance"]
    assert plan["dry_run"] is True and plan["load_type"] == "networks"
    moves = plan["moves"]
    assert len(moves) == 2
    assert {m["to_host"] for m in moves} == {c} and {m["from_host"] for m in moves} == {a, b}
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


def test_only_admins_rebalance(server: RunningServer) -> None:
    with server.client("member") as http:
        for method in ("GET", "POST"):
            r = http.request(method, "/v2.0/dhcp-agent-rebalance")
            assert r.status_code == 403, r.text
            assert r.json()["NeutronError"]["type"] == "PolicyNotAuthorized"
    with server.client(None) as http:
        assert http.get("/v2.0/dhcp-agent-rebalance").status_code == 401
