"""services/fleet.py on every database: agents by state and load, networks at risk."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from neutrino.db.models import Agent
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE
from neutrino.services import fleet
from neutrino.services.clock import utcnow
from tests.support.agents import agent_client, register
from tests.support.server import RunningServer, body_of, running_server, settings_for

DOWN = 3600  # nobody's liveness changes by itself while the module runs


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # No failover loop: the test decides who is dead by moving heartbeats back.
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN, dhcp_agents_per_network=2)
    with running_server(settings, background=False) as running:
        yield running


def _network(server: RunningServer, name: str, cidr: str | None) -> str:
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": name}}))["network"]
        if cidr:
            body_of(c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"],
                                                             "cidr": cidr}}))
    return str(net["id"])


def _silence(server: RunningServer, agent_id: str) -> None:
    server.db.run(lambda s: s.execute(update(Agent).where(Agent.id == agent_id).values(
        heartbeat_timestamp=utcnow() - timedelta(seconds=2 * DOWN))))


def test_fleet_counts_agents_loads_and_networks_at_risk(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    (_, a), (_, b) = register(client, f"fa-{tag}"), register(client, f"fb-{tag}")
    dhcp = [_network(server, f"n{i}-{tag}", f"10.{i}.0.0/24") for i in range(3)]
    _network(server, f"nodhcp-{tag}", None)
    summary = fleet.summarize(server.db, server.settings)
    assert (summary.dhcp_networks, summary.networks_at_risk, summary.networks_unserved) == \
        (3, 0, 0)
    loads = {x.id: x for x in summary.agents}
    assert loads[a.agent_id].networks == loads[b.agent_id].networks == 3
    assert loads[a.agent_id].alive and loads[a.agent_id].heartbeat_age < 60
    assert summary.agent_counts() == {(AGENT_TYPE_DHCP, True, True): 2,
                                      (AGENT_TYPE_LINUXBRIDGE, True, True): 2}
    assert summary.event_head > 0

    _silence(server, a.agent_id)
    with server.client() as c:
        body_of(c.put(f"/v2.0/agents/{b.agent_id}", json={"agent": {"admin_state_up": False}}))
    summary = fleet.summarize(server.db, server.settings)
    # B is disabled but alive: it still serves, so the networks are at risk, not unserved.
    assert (summary.networks_at_risk, summary.networks_unserved) == (3, 0)
    assert summary.agent_counts()[(AGENT_TYPE_DHCP, False, True)] == 1
    assert summary.agent_counts()[(AGENT_TYPE_DHCP, True, False)] == 1
    assert {x.id: x for x in summary.agents}[a.agent_id].heartbeat_age >= 2 * DOWN
    page = fleet.networks_at_risk(server.db, server.settings, limit=2)
    assert [n.id for n in page] == sorted(dhcp)[:2]
    assert {(n.alive_agents, n.agents) for n in page} == {(1, 2)}
    rest = fleet.networks_at_risk(server.db, server.settings, limit=2, after=page[-1].id)
    assert [n.id for n in rest] == sorted(dhcp)[2:]

    _silence(server, b.agent_id)
    summary = fleet.summarize(server.db, server.settings)
    assert (summary.networks_at_risk, summary.networks_unserved) == (3, 3)
