"""Failover time: from a DHCP agent's last heartbeat until its networks are on other agents.

Run: .venv/bin/python bench/failover_bench.py [--networks 200] [--grace 0 5]
         [--down-time 5] [--db sqlite] [--repeats 2]
A real neutrino-server process per (database, grace); fake DHCP agents (report_state over
HTTP, no dnsmasq): X hosts every network, Y and Z are empty and keep reporting. X falls
silent; the bench counts X's bindings in the database every 20 ms (not through the API,
which would compete with the failover it measures for the server's CPU). Prints, per run,
the seconds from X's last heartbeat (as the server recorded it) to the first and to the
last network moved, and how far the last one is past agent_down_time + dhcp_failover_grace.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import create_engine, func, select

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, database, server
from neutrino.agent_protocol.messages import AgentState
from neutrino.db.models import NetworkDhcpAgentBinding
from neutrino.neutron_names import AGENT_TYPE_DHCP
from neutrino.transport.http_client import HttpAgentClient

POLL = 0.02


def dhcp_state(host: str) -> AgentState:
    return AgentState(agent_type=AGENT_TYPE_DHCP, binary="neutrino-dhcp-agent", host=host,
                      topic="dhcp_agent", start_flag=False, availability_zone="nova",
                      configurations={"networks": 0})


class Reporters:
    """Fake DHCP agents heartbeating every `interval` s from one thread; any can be hushed."""

    def __init__(self, url: str, interval: float) -> None:
        self.client = HttpAgentClient(url, *AGENT)
        self.interval = interval
        self.hosts: set[str] = set()
        self.ids: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def add(self, host: str) -> str:
        self.ids[host] = self.client.report_state(dhcp_state(host)).agent_id
        with self.lock:
            self.hosts.add(host)
        return self.ids[host]

    def hush(self, host: str) -> None:
        with self.lock:
            self.hosts.discard(host)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            with self.lock:
                hosts = sorted(self.hosts)
            for host in hosts:
                self.client.report_state(dhcp_state(host))

    def __enter__(self) -> Reporters:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)


def make_networks(http: httpx.Client, count: int) -> None:
    for i in range(count):
        r = http.post("/v2.0/networks", json={"network": {"name": f"fo{i}"}})
        r.raise_for_status()
        r = http.post("/v2.0/subnets", json={"subnet": {
            "network_id": r.json()["network"]["id"], "ip_version": 4,
            "cidr": f"10.{100 + i // 250}.{i % 250}.0/24"}})
        r.raise_for_status()


def heartbeat_of(http: httpx.Client, agent_id: str) -> datetime:
    stamp = http.get(f"/v2.0/agents/{agent_id}").json()["agent"]["heartbeat_timestamp"]
    return datetime.fromisoformat(stamp)


def one_run(kind: str, networks: int, down: int, grace: int) -> tuple[float, float]:
    extra = f"agent_down_time = {down}\ndhcp_failover_grace = {grace}\n"
    with database(kind) as url, server(url, extra) as srv:
        http = httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()},
                            timeout=30)
        tag = uuid.uuid4().hex[:6]
        with Reporters(srv.url, 1.0) as agents:
            x = agents.add(f"{tag}-x")
            make_networks(http, networks)
            agents.add(f"{tag}-y")
            agents.add(f"{tag}-z")
            # The server judges nobody before it has heard agents for down + grace.
            time.sleep(max(0.0, down + grace + 1))
            agents.hush(f"{tag}-x")
            time.sleep(0.3)  # let an in-flight report of X land
            last = heartbeat_of(http, x)
            first_moved = None
            engine = create_engine(url)
            count = select(func.count()).select_from(NetworkDhcpAgentBinding).where(
                NetworkDhcpAgentBinding.dhcp_agent_id == x)
            while True:
                with engine.connect() as conn:
                    left = conn.scalar(count) or 0
                now = datetime.now(UTC).replace(tzinfo=None)
                if left < networks and first_moved is None:
                    first_moved = now
                if left == 0:
                    break
                time.sleep(POLL)
            engine.dispose()
        assert first_moved is not None
        return (first_moved - last).total_seconds(), (now - last).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--down-time", type=int, default=5)
    parser.add_argument("--grace", type=int, nargs="+", default=[0, 5])
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"failover of {args.networks} networks, agent_down_time = {args.down_time} s; "
          "seconds after the silent agent's last heartbeat")
    print(f"{'db':<11} {'grace':>5} {'first moved':>12} {'all moved':>10} "
          f"{'past down+grace':>16}")
    for kind in args.db:
        for grace in args.grace:
            runs = [one_run(kind, args.networks, args.down_time, grace)
                    for _ in range(args.repeats)]
            first = statistics.median(r[0] for r in runs)
            every = statistics.median(r[1] for r in runs)
            worst = max(r[1] for r in runs)
            print(f"{kind:<11} {grace:>5} {first:>12.2f} {every:>10.2f} "
                  f"{every - args.down_time - grace:>16.2f}  (worst all moved {worst:.2f})")


if __name__ == "__main__":
    main()
