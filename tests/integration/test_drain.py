"""Drain of a DHCP agent on a real server (SQLite and PostgreSQL) with fake agents that
confirm what they are given, as real ones do: the REST call plans and starts moves, the
`agent-drain` command follows them to the end, resumes after an interruption, and a network
no other host can reach stays where it is and is reported."""
from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Iterator

import pytest

from neutrino.cli.main import main
from tests.support.agents import l2_state
from tests.support.databases import fresh_database
from tests.support.fake_dhcp_hosts import FakeDhcpHosts
from tests.support.server import USERS, RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

CIDRS = (f"10.71.{i}.0/24" for i in itertools.count())


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningServer]:
    with fresh_database(request.param, str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("state")), agent_down_time=5,
                                dhcp_agents_per_network=1, network_auto_schedule=False)
        with running_server(settings) as running:
            yield running


def cli(server: RunningServer, *args: str) -> tuple[int, str, str]:
    user, password, project = USERS["admin"]
    out, err = io.StringIO(), io.StringIO()
    code = main(["--os-auth-url", f"{server.url}/v2.0", "--os-username", user,
                 "--os-password", password, "--os-tenant-name", project, *args],
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def table(out: str) -> list[list[str]]:
    lines = [row for row in out.splitlines() if row.startswith("|")][1:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


class Site:
    """Host x with networks to drain; y and z take them. Only x reaches physnet p1."""

    def __init__(self, server: RunningServer, hosts: FakeDhcpHosts) -> None:
        self.server, self.hosts = server, hosts
        tag = uuid.uuid4().hex[:6]
        self.x, self.y, self.z = (f"{tag}-{n}" for n in "xyz")
        hosts.start(self.x, l2_state(self.x, mappings={"p1": "eth1"}), auto=True)
        for host in (self.y, self.z):
            hosts.start(host, l2_state(host, mappings={}), auto=True)
        self.api = server.client()

    def network(self, **provider: object) -> str:
        r = self.api.post("/v2.0/networks", json={"network": {"name": "drained", **provider}})
        assert r.status_code == 201, r.text
        net_id: str = r.json()["network"]["id"]
        r = self.api.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": next(CIDRS), "ip_version": 4}})
        assert r.status_code == 201, r.text
        r = self.api.post(f"/v2.0/agents/{self.hosts.ids[self.x]}/dhcp-networks",
                          json={"network_id": net_id})
        assert r.status_code == 201, r.text
        return net_id

    def on(self, host: str) -> dict[str, str]:
        r = self.api.get(f"/v2.0/agents/{self.hosts.ids[host]}/dhcp-networks")
        return {n["id"]: n["dhcp_state"] for n in r.json()["networks"]}


@pytest.fixture
def site(server: RunningServer) -> Iterator[Site]:
    with FakeDhcpHosts(server) as hosts:
        yield Site(server, hosts)


def test_drain_moves_every_network_it_can_and_reports_the_rest(site: Site) -> None:
    nets = [site.network() for _ in range(5)]
    flat = site.network(**{"provider:network_type": "flat", "provider:physical_network": "p1"})
    wait_until(lambda: set(site.on(site.x).values()) == {"ready"}, 10)
    x_id = site.hosts.ids[site.x]

    # Dry run: a plan, nothing changed.
    code, out, err = cli(site.server, "agent-drain", "--dry-run", x_id)
    assert code == 0, err
    plan = {row[0]: (row[1], row[2]) for row in table(out)}
    assert plan[flat] == ("stay", "")
    assert {plan[n][0] for n in nets} == {"move"}
    assert {plan[n][1] for n in nets} <= {site.hosts.ids[site.y], site.hosts.ids[site.z]}
    assert site.api.get(f"/v2.0/agents/{x_id}").json()["agent"]["admin_state_up"] is True
    assert len(site.on(site.x)) == 6

    # An interrupted drain: two moves started, then nothing more asked.
    r = site.api.post(f"/v2.0/agents/{x_id}/drain", json={"drain": {"limit": 2}})
    assert r.status_code == 200, r.text
    assert len(r.json()["drain"]["planned"]) == 2
    assert site.api.get(f"/v2.0/agents/{x_id}").json()["agent"]["admin_state_up"] is False
    wait_until(lambda: len(site.on(site.x)) == 4, 15)

    # Running it again resumes and follows to the end; the flat network stays.
    code, out, err = cli(site.server, "agent-drain", "--batch", "2", x_id)
    assert code == 1, (out, err)
    result = {row[0]: row[1] for row in table(out)}
    assert result[flat] == "stayed"
    assert "1 networks stay on the agent" in err
    assert "networks moved off" in err  # plain progress lines: stderr is no terminal
    assert site.on(site.x) == {flat: "ready"}
    moved = {**site.on(site.y), **site.on(site.z)}
    assert set(moved) == set(nets) and set(moved.values()) == {"ready"}
    status = site.api.get(f"/v2.0/agents/{x_id}/drain").json()["drain"]
    assert (status["networks"], status["moving"], status["unmovable"]) == (1, [], [flat])


def test_drain_of_an_idle_agent_ends_at_once(site: Site) -> None:
    code, out, err = cli(site.server, "agent-drain", site.hosts.ids[site.y])
    assert code == 0, err
    assert table(out) == []


def test_drain_is_admin_only_and_checks_its_body(site: Site) -> None:
    agent = site.hosts.ids[site.y]
    with site.server.client("member") as member:
        r = member.post(f"/v2.0/agents/{agent}/drain")
        assert r.status_code == 403, r.text
    r = site.api.post(f"/v2.0/agents/{agent}/drain", json={"drain": {"limit": 0}})
    assert r.status_code == 400 and "limit" in r.json()["NeutronError"]["message"]
    r = site.api.post(f"/v2.0/agents/{agent}/drain", json={"drain": {"dry_run": "yes"}})
    assert r.status_code == 400, r.text
    r = site.api.post(f"/v2.0/agents/{uuid.uuid4()}/drain")
    assert r.status_code == 404, r.text
