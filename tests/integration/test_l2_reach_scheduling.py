"""A DHCP agent whose host's L2 agent cannot reach a network's segment is never chosen:
not by scheduling, not by auto_schedule, not by failover; a manual add is refused.

Agents register by report_state over the real HTTP transport (tests/support/agents.py).
Hosts: "good" reaches physnet1 and VXLAN; "bad" has an L2 agent reaching only physnet2;
"bare" has no L2 agent at all. A local network (which any host reaches) is the control
that shows "bad" and "bare" were real candidates whenever reach did not matter.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.agents import Hosts, agent_client, l2_state
from tests.support.server import RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

DOWN_TIME = 2


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN_TIME, dhcp_agents_per_network=1)
    with running_server(settings) as running:
        yield running


def _hosts_of(server: RunningServer, network_id: str) -> list[str]:
    with server.client() as c:
        return sorted(a["host"] for a in
                      c.get(f"/v2.0/networks/{network_id}/dhcp-agents").json()["agents"])


def _network(server: RunningServer, name: str, cidr: str, **provider: object) -> str:
    with server.client() as c:
        r = c.post("/v2.0/networks", json={"network": {"name": name, **provider}})
        assert r.status_code == 201, r.text
        net_id: str = r.json()["network"]["id"]
        r = c.post("/v2.0/subnets", json={"subnet": {"network_id": net_id, "cidr": cidr,
                                                     "ip_version": 4}})
        assert r.status_code == 201, r.text
    return net_id


def test_unreachable_hosts_are_never_chosen(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    good, good2, bad, bare = (f"{tag}-{n}" for n in ("good", "good2", "bad", "bare"))
    with Hosts(server) as hosts:
        bad_id = hosts.start(bad, l2_state(bad, mappings={"physnet2": "eth1"}, vxlan=False))
        bare_id = hosts.start(bare, None)

        # Scheduling on subnet creation: only the local network finds an agent.
        vx = _network(server, "vx", "10.61.0.0/24")
        flat = _network(server, "flat", "10.61.1.0/24", **{
            "provider:network_type": "flat", "provider:physical_network": "physnet1"})
        local = _network(server, "local", "10.61.2.0/24", **{
            "provider:network_type": "local"})
        assert _hosts_of(server, local) in ([bad], [bare])
        assert _hosts_of(server, vx) == [] and _hosts_of(server, flat) == []

        # Manual add: refused, with a NeutronError saying why.
        with server.client() as c:
            for agent_id in (bad_id, bare_id):
                r = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks",
                           json={"network_id": vx})
                assert r.status_code == 409, r.text
                error = r.json()["NeutronError"]
                assert error["type"] == "SegmentUnreachable"
                assert "L2 agent" in error["message"]
        assert _hosts_of(server, vx) == []

        # auto_schedule when a reaching agent starts: it takes both waiting networks.
        hosts.start(good, l2_state(good))
        wait_until(lambda: _hosts_of(server, vx) == [good]
                   and _hosts_of(server, flat) == [good], 20)

        # Failover: "good" falls silent. A local network it hosts is the control: it moves
        # (to bad or bare, the least loaded); vx and flat stay, since nobody can take them.
        with server.client() as c:
            r = c.post(f"/v2.0/agents/{hosts.ids[good]}/dhcp-networks",
                       json={"network_id": local})
            assert r.status_code == 201, r.text
            agent_of_local = [a for a in c.get(f"/v2.0/networks/{local}/dhcp-agents")
                              .json()["agents"] if a["host"] != good][0]["id"]
            r = c.delete(f"/v2.0/agents/{agent_of_local}/dhcp-networks/{local}")
            assert r.status_code == 204, r.text
        assert _hosts_of(server, local) == [good]
        hosts.silence(good)
        wait_until(lambda: _hosts_of(server, local) in ([bad], [bare]), 30)
        assert _hosts_of(server, vx) == [good] and _hosts_of(server, flat) == [good]

        # A second reaching host appears: failover moves vx and flat there, and only there.
        hosts.start(good2, l2_state(good2))
        wait_until(lambda: _hosts_of(server, vx) == [good2]
                   and _hosts_of(server, flat) == [good2], 30)


def test_a_dead_l2_agent_reaches_nothing(server: RunningServer) -> None:
    """The DHCP agent lives but its host's L2 agent is dead: nothing is scheduled to it."""
    host = f"{uuid.uuid4().hex[:6]}-l2dead"
    client = agent_client(server)
    client.report_state(l2_state(host, start=True))
    with Hosts(server) as hosts:
        agent_id = hosts.start(host, None)  # only its DHCP agent keeps reporting
        with server.client() as c:
            wait_until(lambda: not [a for a in c.get("/v2.0/agents", params={
                "host": host, "agent_type": "Linux bridge agent"}).json()["agents"]
                if a["alive"]], 20)
            vx = _network(server, "vx-dead-l2", "10.62.0.0/24")
            assert host not in _hosts_of(server, vx)
            r = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks", json={"network_id": vx})
            assert r.status_code == 409, r.text


@pytest.fixture(scope="module")
def strict_forcing_server(db_url: str, tmp_path_factory: pytest.TempPathFactory
                          ) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN_TIME, dhcp_schedule_require_l2_reach="true",
                            dhcp_force_unreachable_add=True)
    with running_server(settings) as running:
        yield running


def test_strict_mode_without_l2_agents_and_a_forced_add(strict_forcing_server: RunningServer,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """`true`: no L2 agent registered at all, so no DHCP agent is chosen (as Neutron);
    dhcp_force_unreachable_add lets an operator's add through, with a warning."""
    server = strict_forcing_server
    host = f"{uuid.uuid4().hex[:6]}-nol2"
    with Hosts(server) as hosts:
        agent_id = hosts.start(host, None)
        vx = _network(server, "vx-strict", "10.63.0.0/24")
        # Even a local network needs a live L2 agent on the host (as in Neutron).
        local = _network(server, "local-strict", "10.63.1.0/24",
                         **{"provider:network_type": "local"})
        assert _hosts_of(server, vx) == [] and _hosts_of(server, local) == []
        with server.client() as c:
            r = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks", json={"network_id": vx})
            assert r.status_code == 201, r.text
        assert _hosts_of(server, vx) == [host]
        assert any("dhcp_force_unreachable_add" in rec.getMessage() and vx in rec.getMessage()
                   for rec in caplog.records if rec.levelname == "WARNING")
