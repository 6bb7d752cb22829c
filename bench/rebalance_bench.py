"""Rebalance of N networks after a third DHCP agent joins: plan time and execution time.

Run: .venv/bin/python bench/rebalance_bench.py [--networks 1000] [--db sqlite postgresql]
A real neutrino-server process per database; fake DHCP agents (report_state and
networks_applied over HTTP, no dnsmasq: tests/support/fake_dhcp_hosts.py).
A and B host the N networks (scheduled as they were created); C joins empty. Prints:
the pure planner on the same data in this process; GET /v2.0/dhcp-agent-rebalance (read
the database + plan); POST (plan + request every move); and the time from the POST until
no move is pending (C bound, confirmed ready, old bindings removed), with the loads after.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, database, server
from neutrino.scheduler.placement import AgentSnapshot
from neutrino.scheduler.rebalance import RebalanceInput, plan_rebalance
from neutrino.transport.http_client import HttpAgentClient
from tests.support.fake_dhcp_hosts import FakeDhcpHosts


def make_networks(http: httpx.Client, count: int) -> None:
    for i in range(count):
        r = http.post("/v2.0/networks", json={"network": {"name": f"rb{i}"}})
        r.raise_for_status()
        r = http.post("/v2.0/subnets", json={"subnet": {
            "network_id": r.json()["network"]["id"], "ip_version": 4,
            "cidr": f"10.{100 + i // 250}.{i % 250}.0/24"}})
        r.raise_for_status()


def loads(http: httpx.Client, ids: dict[str, str]) -> dict[str, int]:
    return {host: len(http.get(f"/v2.0/agents/{agent_id}/dhcp-networks").json()["networks"])
            for host, agent_id in ids.items()}


def pure_plan_seconds(networks: int) -> float:
    """The planner alone on the same shape: N networks half on a, half on b; c empty."""
    agents = [AgentSnapshot(x, x, True, True) for x in "abc"]
    bindings = {f"n{i}": frozenset({"ab"[i % 2]}) for i in range(networks)}
    start = time.perf_counter()
    plan_rebalance(RebalanceInput(agents, bindings))
    return time.perf_counter() - start


def one_run(kind: str, networks: int) -> None:
    with database(kind) as url, server(url, "agent_down_time = 30\n") as srv:
        http = httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()},
                            timeout=120)
        tag = uuid.uuid4().hex[:6]
        a, b, c = (f"{tag}-{n}" for n in "abc")
        with FakeDhcpHosts(None, client=HttpAgentClient(srv.url, *AGENT)) as hosts:
            for host in (a, b):
                hosts.start(host, auto=True)
            start = time.perf_counter()
            make_networks(http, networks)
            made = time.perf_counter() - start
            hosts.start(c, auto=True)
            ids = dict(hosts.ids)
            start = time.perf_counter()
            planned = http.get("/v2.0/dhcp-agent-rebalance").json()["rebalance"]
            plan_s = time.perf_counter() - start
            start = time.perf_counter()
            done = http.post("/v2.0/dhcp-agent-rebalance").json()["rebalance"]
            post_s = time.perf_counter() - start
            while http.get("/v2.0/dhcp-agent-rebalance/moves").json()["moves"]:
                time.sleep(0.1)
            total_s = time.perf_counter() - start
            after = loads(http, ids)
        skipped = sum(1 for m in done["moves"] if "skipped" in m)
        to = Counter(m["to_host"] for m in done["moves"])
        print(f"{kind}: {networks} networks ({made:.0f} s to create); "
              f"plan {len(planned['moves'])} moves: GET {plan_s:.2f} s; "
              f"POST (plan + request) {post_s:.2f} s, {skipped} skipped; "
              f"all moves done {total_s:.2f} s after the POST")
        print(f"  moves to the new agent: {to[c]} of {sum(to.values())}; loads after: "
              + ", ".join(f"{h[-1]} {n}" for h, n in sorted(after.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    args = parser.parse_args()
    print(f"pure planner, {args.networks} networks on 2 agents + 1 empty: "
          f"{pure_plan_seconds(args.networks) * 1000:.1f} ms")
    for kind in args.db:
        one_run(kind, args.networks)


if __name__ == "__main__":
    main()
