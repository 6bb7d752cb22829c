"""Scheduling costs against the size of the fleet: 50, 2,000 and 10,000 agents (issue 13).

Run: .venv/bin/python bench/fleet_scale_bench.py [--agents 50 2000 10000] [--db sqlite mariadb]
         [--workers 2] [--old-ref main] [--transport http|rabbit]
Each N makes N DHCP + N Linux bridge agents (rows written straight into the database, all
alive, the L2 agents carrying VXLAN so the reach filter applies as in a real deployment).
Measured per N, p50 over the repeats: network + subnet + port (the subnet schedules the
network onto dhcp_agents_per_network = 2 agents), add network to agent, one page of 500
agents. Prints the figures and each one's ratio to the smallest N; with --old-ref, the code
of that git ref runs too (alternating with this tree's, each on a fresh database).
Asserts nothing beyond the calls answering.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, insert

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, Server, database, median_ms, p, server, timed
from neutrino.db.models import Agent

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = "agent_down_time = 86400\ndhcp_agents_per_network = 2"
# --transport rabbit: the server's agent driver is RabbitMQ (events cast after each commit);
# the heartbeats still come over HTTP, which every server also serves.
RABBIT_URL = os.environ.get("NEUTRINO_BENCH_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")


def fill(url: str, n: int) -> None:
    """N DHCP and N L2 agents, one of each per host, alive for the whole run."""
    now = datetime.now(UTC).replace(tzinfo=None)
    dhcp = {"networks": 0, "subnets": 0, "ports": 0}
    l2 = {"interface_mappings": {}, "tunnel_types": ["vxlan"], "devices": 0}
    rows = [{"id": str(uuid.uuid4()), "agent_type": kind, "binary": binary, "topic": topic,
             "host": f"bench-{i:05d}", "availability_zone": "nova", "admin_state_up": True,
             "description": "", "configurations": conf, "resource_versions": {},
             "load": 0, "created_at": now, "started_at": now, "heartbeat_timestamp": now}
            for i in range(n)
            for kind, binary, topic, conf in (
                ("DHCP agent", "neutrino-dhcp-agent", "dhcp_agent", dhcp),
                ("Linux bridge agent", "neutrino-linuxbridge-agent", "N/A", l2))]
    engine = create_engine(url)
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(Agent.__table__), rows[start:start + 2000])
    engine.dispose()


def heartbeats(url: str, token: str, n: int, rate: float, stop: Any) -> None:
    """Routine reports of the DHCP agents, `rate` per second in all, until `stop` is set."""
    with httpx.Client(base_url=url, headers={"X-Auth-Token": token}, timeout=30) as c:
        i, start = 0, time.monotonic()
        while not stop.is_set():
            c.post("/agent-rpc/v1/report_state", json={
                "agent_type": "DHCP agent", "binary": "neutrino-dhcp-agent",
                "host": f"bench-{i % n:05d}", "topic": "dhcp_agent",
                "availability_zone": "nova",  # as fill() wrote: a new zone is news
                "configurations": {"networks": 0, "subnets": 0, "ports": 0}}
                   ).raise_for_status()
            i += 1
            ahead = i / rate - (time.monotonic() - start)
            if ahead > 0:
                stop.wait(ahead)


def measure(kind: str, code_dir: str | None, n: int, workers: int, repeats: int,
            rate: float, transport: str = "http") -> dict[str, float]:
    if transport == "http":
        return _measure_on(kind, code_dir, n, workers, repeats, rate, CONFIG)
    from tests.support.broker import delete_topology

    exchange = "neutrino_fleet_bench_" + uuid.uuid4().hex[:8]
    try:
        return _measure_on(kind, code_dir, n, workers, repeats, rate,
                           f"{CONFIG}\ntransport_url = {RABBIT_URL}\n"
                           f"control_exchange = {exchange}")
    finally:
        delete_topology(RABBIT_URL, exchange)


def _measure_on(kind: str, code_dir: str | None, n: int, workers: int, repeats: int,
                rate: float, config: str) -> dict[str, float]:
    with database(kind) as url, server(url, config, workers=workers, code_dir=code_dir) as srv:
        fill(url, n)
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        beating = ctx.Process(target=heartbeats, args=(srv.url, srv.token(AGENT), n,
                                                       min(rate, n / 30), stop))
        if rate > 0:
            beating.start()
        try:
            figures = _measure(srv, repeats)
        finally:
            stop.set()
            if rate > 0:
                beating.join(30)
        figures["deadlock retries logged"] = srv.log_lines("Deadlock", "1213", "40P01")
        return figures


def _measure(srv: Server, repeats: int) -> dict[str, float]:
    with httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()},
                      timeout=60) as c:
        counter = iter(range(10**6))

        def create_all() -> None:
            i = next(counter)
            net = c.post("/v2.0/networks", json={"network": {"name": f"b{i}"}})
            nid = net.raise_for_status().json()["network"]["id"]
            c.post("/v2.0/subnets", json={"subnet": {
                "network_id": nid, "cidr": f"10.{i // 250}.{i % 250}.0/24"}}
                   ).raise_for_status()
            c.post("/v2.0/ports", json={"port": {"network_id": nid}}).raise_for_status()

        timed(create_all, 10)  # warm up both workers: imports, caches, first loads
        create = timed(create_all, repeats)
        nets = [x["id"] for x in c.get("/v2.0/networks").json()["networks"]]
        hosted = {x["id"] for x in c.get("/v2.0/agents", params={
            "agent_type": "DHCP agent", "limit": "50"}).json()["agents"]}
        pairs = iter([(a, nid) for nid in nets for a in sorted(hosted)])

        def add_one() -> None:
            a, nid = next(pairs)
            r = c.post(f"/v2.0/agents/{a}/dhcp-networks", json={"network_id": nid})
            assert r.status_code in (201, 409), r.text

        timed(add_one, 10)
        add = timed(add_one, repeats)
        page = timed(lambda: c.get("/v2.0/agents", params={"limit": "500"})
                     .raise_for_status(), repeats)
        bound = sum(len(c.get(f"/v2.0/networks/{nid}/dhcp-agents").json()["agents"])
                    for nid in nets[:5])
        assert bound >= 5, "networks were not scheduled"
    return {"net+subnet+port": median_ms(create), "net+subnet+port p90": p(create, 0.9),
            "add network": median_ms(add), "page of 500 agents": median_ms(page)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[50, 2000, 10000])
    parser.add_argument("--db", nargs="+", default=["sqlite", "mariadb"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--transport", choices=("http", "rabbit"), default="http",
                        help="the servers' agent driver")
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--old-ref", default=None, help="also run this git ref's code")
    parser.add_argument("--heartbeats", type=float, default=100,
                        help="routine report_state calls per second meanwhile (at most one "
                             "per agent per 30 s; 0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as old_dir:
        codes: dict[str, str | None] = {"new": None}
        if args.old_ref:
            archive = subprocess.run(["git", "-C", HERE, "archive", args.old_ref],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", old_dir], input=archive, check=True)
            codes = {"old": old_dir, "new": None}
        for kind in args.db:
            print(f"{kind} + {args.transport}, {args.workers} API workers, N DHCP + N L2 agents "
                  f"(p50 ms; x = ratio to N={args.agents[0]})")
            for name, code_dir in codes.items():
                results = {}
                for n in args.agents:
                    results[n] = measure(kind, code_dir, n, args.workers, args.repeats,
                                         args.heartbeats, args.transport)
                    print(f"  {name} N={n:<6} load {os.getloadavg()[0]:.1f}  " + "  ".join(
                        f"{k} {v:.1f}" if not k.startswith("deadlock") else f"{k} {v:.0f}"
                        for k, v in results[n].items()), flush=True)
                base = results[args.agents[0]]
                for n in args.agents[1:]:
                    print(f"  {name} N={n} / N={args.agents[0]}: " + "  ".join(
                        f"{k} {results[n][k] / base[k]:.2f}x" for k in base
                        if not k.startswith("deadlock")))


if __name__ == "__main__":
    main()
