"""The write path's statements: how many each call sends, and that the number does not grow
with the fleet (issue 13: a network + subnet + port and an add-network cost the same at 10
agents and at 300).

Each call is counted on the server's own engine (every statement a cursor sends:
SAVEPOINTs, RELEASEs and SQLite's BEGIN included) from the calling thread only, so the
server's other threads do not blur the count. The budgets are today's counts: a change that
adds a round trip to one of these calls has to say why, here.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert

from neutrino.db.models import Agent
from neutrino.services.clock import utcnow
from neutrino.wiring import Services
from tests.support.server import RunningServer, running_server, settings_for

# Statements per call (the SQLite figure; MariaDB and PostgreSQL send no BEGIN statement).
BUDGET = {"network": 7, "subnet": 17, "port": 13, "add network": 11}


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=86400, dhcp_agents_per_network=2)
    # No background loops: they would read and write beside the calls counted.
    with running_server(settings, background=False) as running:
        yield running


def add_agents(server: RunningServer, n: int) -> None:
    """N alive DHCP agents and their hosts' L2 agents (VXLAN), as rows."""
    now = utcnow()
    rows = [{"id": str(uuid.uuid4()), "agent_type": kind, "binary": binary, "topic": topic,
             "host": host, "availability_zone": "nova", "admin_state_up": True,
             "description": "", "configurations": conf, "resource_versions": {}, "load": 0,
             "created_at": now, "started_at": now, "heartbeat_timestamp": now}
            for host in (f"rt-{uuid.uuid4().hex[:8]}" for _ in range(n))
            for kind, binary, topic, conf in (
                ("DHCP agent", "neutrino-dhcp-agent", "dhcp_agent", {}),
                ("Linux bridge agent", "neutrino-linuxbridge-agent", "N/A",
                 {"interface_mappings": {}, "tunnel_types": ["vxlan"]}))]
    with server.db.engine.begin() as conn:
        conn.execute(insert(Agent.__table__), rows)
    # Rows written behind the services' back: the fleet copy reads them on next use.
    server.app.state.services.fleet_snapshot.invalidate()


class Counter:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.thread: int | None = None
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        if threading.get_ident() == self.thread:
            self.count += 1

    def of(self, call: Callable[[], Any]) -> tuple[int, Any]:
        self.count, self.thread = 0, threading.get_ident()
        try:
            result = call()
        finally:
            self.thread = None
        return self.count, result

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def write_path(services: Services, counter: Counter, cidr: str) -> dict[str, int]:
    """Statements of network + subnet + port (which schedules the network) and of adding the
    network to one more agent."""
    counts = {}
    counts["network"], net = counter.of(lambda: services.networks.create("admin", {}))
    counts["subnet"], _ = counter.of(lambda: services.subnets.create(
        "admin", {"network_id": net["id"], "cidr": cidr}))
    counts["port"], _ = counter.of(lambda: services.ports.create(
        "admin", {"network_id": net["id"]}))
    hosting = {a.id for a in services.bindings.agents_of_network(net["id"])}
    assert len(hosting) == 2, "the subnet did not schedule the network onto 2 agents"
    free = next(a["id"] for a in services.agents.list({"agent_type": ["DHCP agent"]})[0]
                if a["id"] not in hosting)
    counts["add network"], _ = counter.of(lambda: services.bindings.add(free, net["id"]))
    return counts


def test_write_path_statements_stay_within_budget_and_flat_with_the_fleet(
        server: RunningServer) -> None:
    services: Services = server.app.state.services
    counter = Counter(server.db.engine)
    try:
        add_agents(server, 10)
        write_path(services, counter, "10.91.0.0/24")  # the fleet copy's first read
        small = write_path(services, counter, "10.91.1.0/24")
        add_agents(server, 290)
        write_path(services, counter, "10.91.2.0/24")  # the copy reloads (rows added)
        large = write_path(services, counter, "10.91.3.0/24")
    finally:
        counter.close()
    assert large == small, f"statements grew with the fleet: {small} at 10, {large} at 300"
    over = {k: (v, BUDGET[k]) for k, v in small.items() if v > BUDGET[k]}
    assert not over, f"statements over budget (sent, budget): {over}; all: {small}"
