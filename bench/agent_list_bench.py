"""Agent listing, old code against new in one run: the filtered list and one page of 500;
and, for the fixed cost of any request, one small authenticated read (GET one network).

Run: .venv/bin/python bench/agent_list_bench.py [--agents 2000] [--db sqlite mariadb]
         [--old-ref main]
`--agents N` makes N DHCP + N Linux bridge agents (rows written straight into the
database, all alive). The old code is `git archive <old-ref>` run from a temporary
directory; the two servers alternate, each on its own fresh database. Prints medians (ms);
asserts only that both answer the same.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import create_engine, insert

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import database, median_ms, server, timed
from neutrino.db.models import Agent

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOWN_TIME = 86400  # seconds: every agent stays alive for the whole run


def fill(url: str, n: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [{"id": str(uuid.uuid4()), "agent_type": kind, "binary": binary, "topic": topic,
             "host": f"bench-{i:05d}", "availability_zone": "nova", "admin_state_up": True,
             "description": "", "configurations": {"networks": 0}, "resource_versions": {},
             "load": 0, "created_at": now, "started_at": now,
             # Alive for the whole run (DOWN_TIME). In the past, beyond the heartbeat
             # slack: a heartbeat ahead of the clock (or just written) looks freshly moved
             # to every read of the moved rows (services/agent_list_cache.py).
             "heartbeat_timestamp": now - timedelta(seconds=10)}
            for i in range(n)
            for kind, binary, topic in (("DHCP agent", "neutrino-dhcp-agent", "dhcp_agent"),
                                        ("Linux bridge agent", "neutrino-linuxbridge-agent",
                                         "N/A"))]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Agent.__table__), rows)
    engine.dispose()


def measure(kind: str, code_dir: str | None, n: int, repeats: int, workers: int
            ) -> dict[str, float]:
    with database(kind) as url, server(url, f"agent_down_time = {DOWN_TIME}",
                                       workers=workers, code_dir=code_dir) as srv:
        fill(url, n)
        with httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()},
                          timeout=60) as c:  # a loaded machine: first reads are slow
            dhcp = c.get("/v2.0/agents", params={"agent_type": "DHCP agent"}).json()["agents"]
            assert len(dhcp) == n and {a["agent_type"] for a in dhcp} == {"DHCP agent"}
            first = c.get("/v2.0/agents", params={"limit": "500"}).json()["agents"]
            assert len(first) == 500
            middle = first[-1]["id"]
            net = c.post("/v2.0/networks", json={"network": {"name": "bench"}}).json()

            def get(params: dict[str, str]) -> None:
                c.get("/v2.0/agents", params=params).raise_for_status()

            # Warm up: first requests pay for imports and caches, in every worker.
            timed(lambda: get({}), 5 * workers)
            return {
                "all agents": median_ms(timed(lambda: get({}), repeats)),
                "agent_type=DHCP agent": median_ms(timed(
                    lambda: get({"agent_type": "DHCP agent"}), repeats)),
                "page of 500 (first)": median_ms(timed(lambda: get({"limit": "500"}), repeats)),
                "page of 500 (after marker)": median_ms(timed(
                    lambda: get({"limit": "500", "marker": middle}), repeats)),
                "GET one network": median_ms(timed(
                    lambda: c.get(f"/v2.0/networks/{net['network']['id']}").raise_for_status(),
                    repeats * 5)),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "mariadb"])
    parser.add_argument("--old-ref", default="main")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="API workers of each server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as old_dir:
        archive = subprocess.run(["git", "-C", HERE, "archive", args.old_ref],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", old_dir], input=archive, check=True)
        for kind in args.db:
            results: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
            for _ in range(args.rounds):  # alternating, so load drift hits both alike
                results["old"].append(measure(kind, old_dir, args.agents, args.repeats,
                                              args.workers))
                results["new"].append(measure(kind, None, args.agents, args.repeats,
                                              args.workers))
            print(f"{kind}, {args.agents} DHCP + {args.agents} L2 agents, {args.workers} "
                  f"workers, load "
                  f"{os.getloadavg()[0]:.1f} (p50 ms, mean of {args.rounds} rounds)")
            for figure in results["old"][0]:
                old = sum(r[figure] for r in results["old"]) / args.rounds
                new = sum(r[figure] for r in results["new"]) / args.rounds
                print(f"  {figure:28s} old {old:8.1f}   new {new:8.1f}   {old / new:5.1f}x")


if __name__ == "__main__":
    main()
