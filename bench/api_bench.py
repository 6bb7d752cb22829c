"""Control-plane speed: agent listing, resource creation, state reports, binding changes.

Run: .venv/bin/python bench/api_bench.py [--agents 1000] [--db sqlite postgresql]
Prints figures; asserts nothing. One server process, as issue 2 asks.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, Server, database, median_ms, p, server, timed


def state(host: str, agent_type: str = "DHCP agent", start: bool = False) -> dict[str, object]:
    return {"agent_type": agent_type, "binary": "neutrino-dhcp-agent", "host": host,
            "topic": "dhcp_agent", "start_flag": start,
            "configurations": {"networks": 0, "subnets": 0, "ports": 0}}


def _report_worker(url: str, token: str, hosts: list[str], seconds: float,
                   out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    done = 0
    with httpx.Client(base_url=url, headers={"X-Auth-Token": token}) as client:
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            client.post("/agent-rpc/v1/report_state", json=state(hosts[i % len(hosts)]))
            i += 1
            done += 1
    out.put(done)


WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local host = "bench-" .. string.format("%05d", counter % NAGENTS)
  local body = '{"agent_type":"DHCP agent","binary":"neutrino-dhcp-agent","host":"' .. host ..
    '","topic":"dhcp_agent","configurations":{"networks":0,"subnets":0,"ports":0}}'
  return wrk.format("POST", "/agent-rpc/v1/report_state",
    {["Content-Type"]="application/json", ["X-Auth-Token"]="TOKEN"}, body)
end
"""


def reports_per_second_wrk(srv: Server, token: str, n_agents: int, seconds: int = 5
                           ) -> float:
    """Load from wrk (C, keep-alive): a Python client cannot outrun the server here."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT.replace("TOKEN", token).replace("NAGENTS", str(n_agents)))
        script.flush()
        out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", script.name,
                              srv.url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError("state reports failed under load:\n" + out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def list_agents_wrk(srv: Server, token: str, seconds: int = 5) -> tuple[float, float]:
    """Median and p90 of GET /v2.0/agents, one connection, measured by wrk (server time
    plus loopback, without a Python client's own parsing)."""
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{seconds}s", "--latency", "-H",
                          f"X-Auth-Token: {token}", srv.url + "/v2.0/agents"],
                         capture_output=True, text=True, check=True).stdout
    def pct(label: str) -> float:
        value = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert value is not None, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[value.group(2)]
        return float(value.group(1)) * scale
    return pct("50"), pct("90")


def reports_per_second(srv: Server, token: str, hosts: list[str], clients: int,
                       seconds: float = 5.0) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    chunks = [hosts[i::clients] for i in range(clients)]
    procs = [multiprocessing.Process(target=_report_worker,
                                     args=(srv.url, token, chunk, seconds, queue))
             for chunk in chunks]
    for proc in procs:
        proc.start()
    total = sum(queue.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total / seconds


def run(kind: str, n_agents: int, clients: int) -> dict[str, float]:
    with database(kind) as url, server(url, "agent_down_time = 75") as srv:
        admin = httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()})
        agent_token = srv.token(AGENT)
        agent = httpx.Client(base_url=srv.url, headers={"X-Auth-Token": agent_token})
        hosts = [f"bench-{i:05d}" for i in range(n_agents)]
        for host in hosts:
            agent.post("/agent-rpc/v1/report_state", json=state(host, start=True))
        assert len(admin.get("/v2.0/agents").json()["agents"]) == n_agents
        list_agents = timed(lambda: admin.get("/v2.0/agents").raise_for_status(), 50)
        wrk_p50, wrk_p90 = list_agents_wrk(srv, srv.token()) if shutil.which("wrk") else \
            (float("nan"), float("nan"))

        counter = iter(range(10**6))

        def create_all() -> None:
            i = next(counter)
            net = admin.post("/v2.0/networks", json={"network": {"name": f"b{i}"}}).json()
            nid = net["network"]["id"]
            admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": nid, "cidr": f"10.{i // 250}.{i % 250}.0/24"}}).raise_for_status()
            admin.post("/v2.0/ports", json={"port": {"network_id": nid}}).raise_for_status()

        create = timed(create_all, 100)
        nets = [n["id"] for n in admin.get("/v2.0/networks").json()["networks"]]
        dhcp_ids = [a["id"] for a in admin.get("/v2.0/agents").json()["agents"]]
        pairs = iter([(a, n) for n in nets for a in dhcp_ids[-5:]])

        def add_one() -> None:
            a, n = next(pairs)
            r = admin.post(f"/v2.0/agents/{a}/dhcp-networks", json={"network_id": n})
            assert r.status_code in (201, 409), r.text

        add = timed(add_one, 200)
        if shutil.which("wrk"):
            rate = reports_per_second_wrk(srv, agent_token, n_agents)
        else:
            print("  (wrk not installed: `apt-get install wrk`; Python clients cannot load "
                  "the server fully, so reports/s is a lower bound)")
            rate = reports_per_second(srv, agent_token, hosts, clients)
        return {"list_agents_ms": median_ms(list_agents),
                "list_agents_p90_ms": p(list_agents, 0.9),
                "list_agents_wrk_ms": wrk_p50, "list_agents_wrk_p90_ms": wrk_p90,
                "create_net_subnet_port_ms": median_ms(create),
                "add_network_to_agent_ms": median_ms(add),
                "reports_per_s": rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4,
                        help="processes sending state reports concurrently")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"{args.agents} registered agents, one server process, {os.cpu_count()} CPUs")
    print("GET agents: httpx client (Python parsing included) / wrk (server + loopback)")
    print(f"{'database':<12}{'GET agents':>12}{'p90':>8}{'wrk p50':>9}{'p90':>8}"
          f"{'net+sub+port':>14}{'add net':>9}{'reports/s':>11}")
    for kind in args.db:
        r = run(kind, args.agents, args.clients)
        print(f"{kind:<12}{r['list_agents_ms']:>10.1f}ms{r['list_agents_p90_ms']:>6.1f}ms"
              f"{r['list_agents_wrk_ms']:>7.1f}ms{r['list_agents_wrk_p90_ms']:>6.1f}ms"
              f"{r['create_net_subnet_port_ms']:>12.1f}ms{r['add_network_to_agent_ms']:>7.1f}ms"
              f"{r['reports_per_s']:>11.0f}")
    print("goals: GET agents <= 15 ms, net+subnet+port <= 35 ms, reports >= 2000/s, "
          "add <= 5 ms; Neutron 29 on this machine: 150 ms, 350 ms, 170/s, 24 ms")


if __name__ == "__main__":
    main()
