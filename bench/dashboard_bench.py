"""The dashboard's data endpoint with 1,000 agents and 10,000 networks: one page of rows.

Run: .venv/bin/python bench/dashboard_bench.py [--agents 1000] [--networks 10000]
         [--db sqlite postgresql mariadb] [--repeats 30]
`--agents N`: N/2 DHCP and N/2 Linux bridge agents, a tenth of them dead; every network
has a DHCP subnet and is bound to two DHCP agents (so those of dead agents are at risk).
Rows are written straight into the database. For each view (default page, a search, the
at-risk filter, the last page) it prints the median and p95 of the server's own time
(`Dashboard.view`, what one push of the event stream costs; with the fleet summary
computed afresh, and with it cached as it is for all but one push a second) and of a
whole HTTP GET of /dashboard/api/view from a real neutrino-server, and the CPU time of a
cached view in this process. Figures, not assertions (the goal: under 50 ms server time
for a page of rows).
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
from sqlalchemy import create_engine, insert, text

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import database, median_ms, p, server, timed
from neutrino.config import load_server_settings
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding, Subnet
from neutrino.db.session import Database
from neutrino.services.dashboard import Dashboard, PageQuery
from neutrino.services.history import History

AGENT_DOWN_TIME = 75


def fill(url: str, agents: int, networks: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    rows: list[dict[str, Any]] = []
    dhcp_ids: list[str] = []
    for i in range(agents):
        dhcp = i % 2 == 0
        agent_id = str(uuid.uuid4())
        if dhcp:
            dhcp_ids.append(agent_id)
        # A tenth dead (last heard an hour ago), the rest alive for the whole run.
        beat = now - timedelta(hours=1) if i % 10 == 4 else now + timedelta(hours=1)
        rows.append({
            "id": agent_id, "host": f"host-{i // 2:04d}",
            "agent_type": "DHCP agent" if dhcp else "Linux bridge agent",
            "binary": "neutrino-dhcp-agent" if dhcp else "neutrino-linuxbridge-agent",
            "topic": "dhcp_agent" if dhcp else "N/A", "availability_zone": f"az{i % 3}",
            "admin_state_up": i % 17 != 0, "description": "",
            "configurations": {"networks": 0} if dhcp else {"devices": 3},
            "resource_versions": {}, "load": 0, "created_at": now, "started_at": now,
            "heartbeat_timestamp": beat})
    nets, subnets, bindings = [], [], []
    for i in range(networks):
        net_id = str(uuid.uuid4())
        nets.append({"id": net_id, "project_id": "bench", "name": f"net-{i:05d}",
                     "description": "", "admin_state_up": True, "shared": False,
                     "status": "ACTIVE", "mtu": 1450, "dns_domain": "", "revision_number": 3,
                     "created_at": now, "updated_at": now})
        subnets.append({"id": str(uuid.uuid4()), "network_id": net_id, "project_id": "bench",
                        "name": "", "description": "", "ip_version": 4,
                        "cidr": f"10.{i // 256 % 256}.{i % 256}.0/24", "gateway_ip": None,
                        "enable_dhcp": True, "allocation_pools": [], "dns_nameservers": [],
                        "host_routes": [], "revision_number": 1, "created_at": now,
                        "updated_at": now})
        for k in (0, 1):
            bindings.append({"network_id": net_id,
                             "dhcp_agent_id": dhcp_ids[(2 * i + k) % len(dhcp_ids)],
                             "created_at": now, "applied_revision": 3 if k == 0 else 2})
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Agent.__table__), rows)
        conn.execute(insert(Network.__table__), nets)
        conn.execute(insert(Subnet.__table__), subnets)
        conn.execute(insert(NetworkDhcpAgentBinding.__table__), bindings)
    # Statistics, as a database that grew to this size has them (autovacuum would get there).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        elif engine.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("ANALYZE TABLE agents, networks, subnets, "
                              "networkdhcpagentbindings"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


VIEWS: dict[str, dict[str, Any]] = {
    "first page (25 + 25 rows)": {},
    "search host-04 / net-07": {"agent_search": "host-04", "network_search": "net-07"},
    "at risk, dead agents": {"network_state": "at_risk", "agent_state": "dead"},
    "last page (100 + 100 rows)": {"agent_page": 9, "agent_size": 100,
                                   "network_page": 99, "network_size": 100},
}


def cpu_ms(fn: Any, n: int) -> float:
    """Mean CPU time of this process per call: on a busy machine, what a
    view costs without the waits for a core; SQLite's work included, a database server's
    not."""
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1000


def page_queries(params: dict[str, Any]) -> tuple[PageQuery, PageQuery]:
    def one(prefix: str) -> PageQuery:
        return PageQuery(params.get(f"{prefix}_search", ""), params.get(f"{prefix}_state", ""),
                         params.get(f"{prefix}_page", 0), params.get(f"{prefix}_size", 25))

    return one("agent"), one("network")


def measure(kind: str, agents: int, networks: int, repeats: int) -> None:
    with database(kind) as url:
        with server(url, f"agent_down_time = {AGENT_DOWN_TIME}\ndhcp_agents_per_network = 2"
                    ) as srv:
            fill(url, agents, networks)
            settings = load_server_settings([], overrides={"db_connection": url}).replace(
                agent_down_time=AGENT_DOWN_TIME, dhcp_agents_per_network=2)
            db = Database(url)
            history = History(db, settings, lambda: None)
            # Fresh fleet summary on every call: the cost of a push when the per-process
            # cache (SUMMARY_TTL) has just expired; `cached` is every other push's.
            dashboard = Dashboard(db, settings, history, summary_ttl=0)
            cached = Dashboard(db, settings, history)
            print(f"\n{kind}: {agents} agents, {networks} networks "
                  f"(median / p95 ms of {repeats})")
            print(f"  {'view':30} {'server time':>15} {'cached summary':>15} "
                  f"{'HTTP GET':>15} {'CPU fresh/cached':>17}  rows")
            with httpx.Client(base_url=srv.url, timeout=30,
                              headers={"X-Auth-Token": srv.token()}) as client:
                for name, params in VIEWS.items():
                    aq, nq = page_queries(params)
                    doc = dashboard.view(aq, nq)
                    timed(lambda aq=aq, nq=nq: dashboard.view(aq, nq), 3)  # warm up
                    inner = timed(lambda aq=aq, nq=nq: dashboard.view(aq, nq), repeats)
                    warm = timed(lambda aq=aq, nq=nq: cached.view(aq, nq), repeats)
                    cpu_fresh = cpu_ms(lambda aq=aq, nq=nq: dashboard.view(aq, nq), repeats)
                    cpu = cpu_ms(lambda aq=aq, nq=nq: cached.view(aq, nq), repeats)

                    def get(params: dict[str, Any] = params) -> None:
                        client.get("/dashboard/api/view", params=params).raise_for_status()

                    timed(get, 3)
                    outer = timed(get, repeats)
                    shown = f"{len(doc['agents']['items'])}/{doc['agents']['total']} agents, " \
                            f"{len(doc['networks']['items'])}/{doc['networks']['total']} nets"
                    print(f"  {name:30} {median_ms(inner):7.1f} /{p(inner, 0.95):6.1f}"
                          f" {median_ms(warm):7.1f} /{p(warm, 0.95):6.1f}"
                          f" {median_ms(outer):7.1f} /{p(outer, 0.95):6.1f}"
                          f" {cpu_fresh:8.1f} /{cpu:6.1f}  {shown}")
                summary = doc["summary"]
                print(f"  summary: {summary['networks_at_risk']} of "
                      f"{summary['dhcp_networks']} networks at risk")
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--networks", type=int, default=10000)
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    for kind in args.db:
        measure(kind, args.agents, args.networks, args.repeats)


if __name__ == "__main__":
    main()
