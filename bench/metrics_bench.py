"""/metrics with a large fleet: 1,000 DHCP agents (and 1,000 L2 agents), 10,000 networks with
a DHCP subnet each on two agents, some of the agents dead so that networks are at risk.

Run: .venv/bin/python bench/metrics_bench.py [--agents 1000] [--networks 10000]
         [--db sqlite postgresql mariadb] [--repeats 30]
Rows are written straight into a fresh database. Prints, per database (ms): the server
time of a scrape, measured in one process on the server's own code (the fleet queries and
the rendering, what a worker spends on it), the fleet queries alone (as the scrape itself
reports them in neutrino_metrics_fleet_query_seconds), and GET /metrics from a real
neutrino-server process over loopback HTTP (token check and transfer included).
The CPU figure is this process's alone (with SQLite the whole server-side cost; the
PostgreSQL or MariaDB server's own work is not in it), steadier than wall time on a machine
busy with other work. Figures, not assertions (the target is under 100 ms of server time).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, insert

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import database, median_ms, p, server, timed
from neutrino.config import load_server_settings
from neutrino.db import migrate
from neutrino.db.models import Agent, Event, Network, NetworkDhcpAgentBinding, Subnet
from neutrino.db.session import Database
from neutrino.metrics.exposition import Exposition
from neutrino.metrics.instruments import ServerMetrics
from neutrino.services import fleet

DEAD_EVERY = 50  # one DHCP agent in 50 has not reported for an hour


def fill(url: str, agents: int, networks: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    alive = now + timedelta(hours=1)  # alive for the whole run whatever agent_down_time is
    agent_rows: list[dict[str, Any]] = []
    dhcp_ids = []
    for i in range(agents):
        for kind, binary, topic in (("DHCP agent", "neutrino-dhcp-agent", "dhcp_agent"),
                                    ("Linux bridge agent", "neutrino-linuxbridge-agent",
                                     "N/A")):
            agent_id = str(uuid.uuid4())
            dead = kind == "DHCP agent" and i % DEAD_EVERY == 0
            agent_rows.append({
                "id": agent_id, "agent_type": kind, "binary": binary, "topic": topic,
                "host": f"bench-{i:05d}", "availability_zone": "nova",
                "admin_state_up": True, "description": "", "configurations": {},
                "resource_versions": {}, "load": 0, "created_at": now, "started_at": now,
                "heartbeat_timestamp": now - timedelta(hours=1) if dead else alive})
            if kind == "DHCP agent":
                dhcp_ids.append(agent_id)
    net_rows, subnet_rows, binding_rows = [], [], []
    for n in range(networks):
        net_id = str(uuid.uuid4())
        net_rows.append({"id": net_id, "project_id": "bench", "name": f"net-{n}",
                         "description": "", "admin_state_up": True, "shared": False,
                         "status": "ACTIVE", "mtu": 1450, "dns_domain": "",
                         "revision_number": 1, "created_at": now, "updated_at": now})
        subnet_rows.append({"id": str(uuid.uuid4()), "network_id": net_id,
                            "project_id": "bench", "name": "", "description": "",
                            "ip_version": 4, "cidr": f"10.{n // 256 % 256}.{n % 256}.0/24",
                            "gateway_ip": None, "enable_dhcp": True, "allocation_pools": [],
                            "dns_nameservers": [], "host_routes": [], "revision_number": 1,
                            "created_at": now, "updated_at": now})
        for k in (0, 1):
            binding_rows.append({"network_id": net_id,
                                 "dhcp_agent_id": dhcp_ids[(2 * n + k) % len(dhcp_ids)],
                                 "created_at": now, "applied_revision": 1})
    event_rows = [{"event": "network.update", "resource": "network", "resource_id": r["id"],
                   "network_id": r["id"], "host": None, "created_at": now}
                  for r in net_rows[:5000]]
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, rows in ((Agent, agent_rows), (Network, net_rows), (Subnet, subnet_rows),
                            (NetworkDhcpAgentBinding, binding_rows), (Event, event_rows)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table.__table__), rows[start:start + 5000])
    engine.dispose()


def in_process(url: str, repeats: int) -> dict[str, float]:
    """The server's own code in this process: what one scrape costs a worker."""
    settings = load_server_settings([], overrides={"db_connection": url,
                                                   "state_path": "/tmp",
                                                   "dhcp_agents_per_network": 2})
    db = Database(url)
    try:
        migrate.check_current(db.engine, url)
        exposition = Exposition(ServerMetrics().source, lambda: fleet.summarize(db, settings))
        timed(exposition.render, 3)  # warm: connections, compiled statements
        summary = fleet.summarize(db, settings)
        print(f"    fleet: {len(summary.agents)} agents, {summary.dhcp_networks} DHCP "
              f"networks, {summary.networks_at_risk} at risk")
        render = timed(exposition.render, repeats)
        # CPU of this process alone: on a loaded machine wall time also counts waiting for
        # a core; with SQLite (in-process) this is the whole server-side cost.
        cpu_started = time.process_time()
        for _ in range(repeats):
            exposition.render()
        cpu = (time.process_time() - cpu_started) / repeats
        queries = timed(lambda: fleet.summarize(db, settings), repeats)
        size = len(exposition.render())
    finally:
        db.dispose()
    return {"scrape, server time p50": median_ms(render), "scrape, server time p95":
            p(render, 0.95), "scrape, CPU of the process (mean)": cpu * 1000,
            "fleet queries p50": median_ms(queries),
            "exposition KiB": size / 1024}


def over_http(url: str, repeats: int) -> dict[str, float]:
    with server(url, "dhcp_agents_per_network = 2\nagent_down_time = 75") as srv:
        with httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()},
                          timeout=30) as c:
            def get() -> str:
                r = c.get("/metrics")
                r.raise_for_status()
                return r.text

            timed(get, 3)
            samples = timed(get, repeats)
            reported = [s.value for f in text_string_to_metric_families(get())
                        if f.name == "neutrino_metrics_fleet_query_seconds" for s in f.samples]
    return {"GET /metrics over HTTP p50": median_ms(samples),
            "GET /metrics over HTTP p95": p(samples, 0.95),
            "fleet queries as reported": reported[0] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--networks", type=int, default=10000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    for kind in args.db:
        with database(kind) as url:
            engine = create_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            fill(url, args.agents, args.networks)
            print(f"{kind}: {args.agents} DHCP + {args.agents} L2 agents, {args.networks} "
                  f"networks x 2 bindings, load {os.getloadavg()[0]:.1f}")
            figures = in_process(url, args.repeats) | over_http(url, args.repeats)
            for name, ms in figures.items():
                unit = "" if name.endswith("KiB") else " ms"
                print(f"  {name:32s} {ms:8.1f}{unit}")


if __name__ == "__main__":
    main()
