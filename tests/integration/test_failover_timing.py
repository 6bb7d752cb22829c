"""Failover's bound on a real server: a dead DHCP agent's networks are all on another agent
within agent_down_time + dhcp_failover_grace + 1 s of its last heartbeat, never before.

Fake agents report state over HTTP from a thread (tests/support/fake_dhcp_hosts.py). The
bindings are counted straight from the database every 20 ms. TOLERANCE allows for that
polling and for a loaded two-core CI machine; the bench (bench/failover_bench.py) gives
the figures (about 0.3 s past the verdict on SQLite for 200 networks).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select

from neutrino.db.models import NetworkDhcpAgentBinding
from neutrino.services.clock import utcnow
from tests.support.fake_dhcp_hosts import FakeDhcpHosts
from tests.support.server import RunningServer, body_of, running_server, settings_for
from tests.support.waiting import wait_until

DOWN_TIME = 2
GRACE = 0
NETWORKS = 40
BOUND = DOWN_TIME + GRACE + 1.0
TOLERANCE = 0.25


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN_TIME, dhcp_failover_grace=GRACE,
                            dhcp_agents_per_network=1)
    with running_server(settings) as running:
        yield running


def bindings_of(server: RunningServer, agent_id: str) -> int:
    with server.db.session() as session:
        return session.scalar(select(func.count()).select_from(NetworkDhcpAgentBinding)
                              .where(NetworkDhcpAgentBinding.dhcp_agent_id == agent_id)) or 0


def test_a_dead_agents_networks_move_within_the_bound(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    with FakeDhcpHosts(server, beat=0.2) as hosts:
        dead = hosts.start(f"{tag}-x")
        with server.client() as c:
            for i in range(NETWORKS):
                net = body_of(c.post("/v2.0/networks", json={"network": {"name": f"t{i}"}}))
                body_of(c.post("/v2.0/subnets", json={"subnet": {
                    "network_id": net["network"]["id"], "cidr": f"10.81.{i}.0/24",
                    "ip_version": 4}}))
        assert bindings_of(server, dead) == NETWORKS
        live = hosts.start(f"{tag}-y")
        # The server judges nobody before it has heard agents for agent_down_time + grace
        # (services/hearing.py): past that, the bound counts from the last heartbeat alone.
        hearing = server.app.state.services.hearing
        wait_until(lambda: (utcnow() - hearing.since()).total_seconds()
                   > DOWN_TIME + GRACE + 0.5, 30, message="the server to hear long enough")
        hosts.silence(f"{tag}-x")
        wait_until(lambda: bindings_of(server, dead) == 0, BOUND + 10, interval=0.02,
                   message="the dead agent's networks to move")
        done = utcnow()
        assert bindings_of(server, live) == NETWORKS
    with server.client() as c:
        agent = body_of(c.get(f"/v2.0/agents/{dead}"))["agent"]
    last = datetime.fromisoformat(agent["heartbeat_timestamp"])
    elapsed = (done - last).total_seconds()
    print(f"all {NETWORKS} networks moved {elapsed:.2f} s after the last heartbeat "
          f"(bound {BOUND:.1f} s)")
    assert DOWN_TIME + GRACE < elapsed <= BOUND + TOLERANCE, elapsed
