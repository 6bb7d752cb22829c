"""Drain of a DHCP agent hosting N networks (default 1,000) to two others.

Run: .venv/bin/python bench/drain_bench.py [--networks 1000]
         [--db sqlite postgresql mariadb] [--old-ref REF]
A real neutrino-server process per database; with `--old-ref`, the code of that commit
(`git archive`, run from a temporary directory) is measured too, alternating with this
tree's on a fresh database each, so one run compares the two under the same load. The
three DHCP agents are fake agents (tests/support/fake_dhcp_hosts.py) over the real HTTP
transport: they heartbeat, and each confirms the networks it is given (get_network_info,
then networks_applied) as a real agent does once its dnsmasq runs. No L2 agents, so
readiness is the confirmation alone. Prints: the POST that disables the agent and starts
every move, and the time until the drained agent hosts nothing (what `neutrino
agent-drain` waits for). Figures, not assertions.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, database, server
from neutrino.transport.http_client import HttpAgentClient
from tests.support.fake_dhcp_hosts import FakeDhcpHosts

EXTRA = "agent_down_time = 75\ndhcp_agents_per_network = 1\n"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def populate(api: httpx.Client, hosts: FakeDhcpHosts, host: str, n: int) -> list[str]:
    """N networks with a DHCP subnet each, scheduled to `host` (the only agent yet)."""
    ids = []
    for i in range(n):
        r = api.post("/v2.0/networks", json={"network": {"name": f"d{i}"}})
        r.raise_for_status()
        net_id = r.json()["network"]["id"]
        api.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": f"10.{i // 256}.{i % 256}.0/24",
            "ip_version": 4}}).raise_for_status()
        ids.append(net_id)
    hosts.confirm(host, ids)
    return ids


def measure(kind: str, n: int, code_dir: str | None = None) -> dict[str, float]:
    with database(kind) as url, server(url, EXTRA, code_dir=code_dir) as srv:
        client = HttpAgentClient(srv.url, *AGENT)
        with FakeDhcpHosts(None, client=client) as hosts, httpx.Client(
                base_url=srv.url, headers={"X-Auth-Token": srv.token()}, timeout=600) as api:
            source = hosts.start("drained")
            setup = time.perf_counter()
            populate(api, hosts, "drained", n)
            setup = time.perf_counter() - setup
            on = api.get(f"/v2.0/agents/{source}/dhcp-networks").json()["networks"]
            assert len(on) == n and {x["dhcp_state"] for x in on} == {"ready"}
            hosts.start("target-1", auto=True)
            hosts.start("target-2", auto=True)
            start = time.perf_counter()
            r = api.post(f"/v2.0/agents/{source}/drain", json={"drain": {}})
            r.raise_for_status()
            started = time.perf_counter() - start
            assert len(r.json()["drain"]["planned"]) == n
            while api.get(f"/v2.0/agents/{source}/drain").json()["drain"]["networks"]:
                time.sleep(0.1)
            drained = time.perf_counter() - start
            split = [len(api.get(f"/v2.0/agents/{hosts.ids[h]}/dhcp-networks")
                         .json()["networks"]) for h in ("target-1", "target-2")]
    return {"setup": setup, "started": started, "drained": drained,
            "split_1": split[0], "split_2": split[1]}


def show(kind: str, label: str, m: dict[str, float]) -> None:
    print(f"{kind:>10} {label:>4}: moves started (POST) {m['started']:6.1f} s, agent empty "
          f"after {m['drained']:6.1f} s; split {m['split_1']:.0f}/{m['split_2']:.0f} "
          f"(setup {m['setup']:.0f} s, load {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--old-ref", default=None,
                        help="also measure this commit's code, alternating (e.g. main)")
    args = parser.parse_args()
    print(f"drain of a DHCP agent hosting {args.networks} networks to two fake agents")
    with tempfile.TemporaryDirectory() as old_dir:
        if args.old_ref:
            archive = subprocess.run(["git", "-C", HERE, "archive", args.old_ref],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", old_dir], input=archive, check=True)
        for kind in args.db:
            new = measure(kind, args.networks)
            show(kind, "new", new)
            if args.old_ref:
                old = measure(kind, args.networks, old_dir)
                show(kind, "old", old)
                print(f"{kind:>10}: started {old['started'] / new['started']:.1f}x faster, "
                      f"empty {old['drained'] / new['drained']:.1f}x faster", flush=True)


if __name__ == "__main__":
    main()
