"""One API worker's memory with 2,000 agents and 10,000 networks loaded (issue 13 item 3).

Run: .venv/bin/python bench/worker_memory.py [--agents 2000] [--networks 10000]
         [--db sqlite] [--top 15]
     .venv/bin/python bench/worker_memory.py --process [--db sqlite mariadb] [--workers 2]
         [--rabbit] [--old-ref main]
Rows are written straight into a fresh database (N DHCP + N L2 agents; networks with a
VXLAN segment, a /24 subnet and two DHCP agents each). Then, in this process (so that
tracemalloc sees the server's allocations), the real app is served by uvicorn on loopback
and worked by a client in a child process: agent and network listings, pages, a few
network + subnet + port creations and adds (the fleet copy is read), heartbeats. Prints
the worker's RSS (/proc, after the work and at its peak), tracemalloc's total and its
top allocation sites, and the RSS of a worker that has only started, for comparison.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from datetime import UTC, datetime

import httpx
import uvicorn
from sqlalchemy import create_engine, insert, select

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import ADMIN, AGENT, database, free_port, server
from bench.fleet_scale_bench import fill
from neutrino.api.app import HEAP_TRIM_PERIOD, create_app
from neutrino.config import load_server_settings
from neutrino.db import migrate
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding, NetworkSegment, Subnet
from neutrino.db.session import Database

MIB = 1024 * 1024
# The broker of --rabbit, as bench/side_by_side.py's (not imported: this process is measured).
RABBIT_URL = os.environ.get("NEUTRINO_BENCH_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")


def rss(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def fill_networks(url: str, n: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = create_engine(url)
    with engine.begin() as conn:
        dhcp = [r[0] for r in conn.execute(select(Agent.id).where(
            Agent.agent_type == "DHCP agent"))]
        for start in range(0, n, 1000):
            nets, segs, subs, binds = [], [], [], []
            for i in range(start, min(n, start + 1000)):
                nid = str(uuid.uuid4())
                nets.append({"id": nid, "project_id": "bench", "name": f"net{i}",
                             "description": "", "admin_state_up": True, "shared": False,
                             "status": "ACTIVE", "mtu": 1450, "dns_domain": "",
                             "revision_number": 1, "created_at": now, "updated_at": now})
                segs.append({"network_id": nid, "network_type": "vxlan",
                             "physical_network": None, "physical_network_key": "",
                             "segmentation_id": i + 1})
                subs.append({"id": str(uuid.uuid4()), "network_id": nid,
                             "project_id": "bench", "name": "", "description": "",
                             "ip_version": 4, "cidr": f"10.{i // 250}.{i % 250}.0/24",
                             "gateway_ip": f"10.{i // 250}.{i % 250}.1", "enable_dhcp": True,
                             "allocation_pools": [{"start": f"10.{i // 250}.{i % 250}.2",
                                                   "end": f"10.{i // 250}.{i % 250}.254"}],
                             "dns_nameservers": [], "host_routes": [],
                             "revision_number": 0, "created_at": now, "updated_at": now})
                for k in (0, 1):
                    binds.append({"network_id": nid, "dhcp_agent_id": dhcp[(2 * i + k) %
                                                                           len(dhcp)],
                                  "created_at": now})
            conn.execute(insert(Network.__table__), nets)
            conn.execute(insert(NetworkSegment.__table__), segs)
            conn.execute(insert(Subnet.__table__), subs)
            conn.execute(insert(NetworkDhcpAgentBinding.__table__), binds)
    engine.dispose()


def fill_all(url: str, agents: int, networks: int) -> None:
    fill(url, agents)
    fill_networks(url, networks)


def token(url: str, who: tuple[str, str, str]) -> str:
    user, password, project = who
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    return httpx.post(url + "/v3/auth/tokens", json=body).headers["x-subject-token"]


def work(url: str, agents: int) -> None:
    """The client side, in its own process: what an operator and the agents do."""
    admin = httpx.Client(base_url=url, headers={"X-Auth-Token": token(url, ADMIN)},
                         timeout=120)
    agent = httpx.Client(base_url=url, headers={"X-Auth-Token": token(url, AGENT)},
                         timeout=60)
    for _ in range(3):
        admin.get("/v2.0/agents").raise_for_status()
        admin.get("/v2.0/agents", params={"agent_type": "DHCP agent"}).raise_for_status()
        admin.get("/v2.0/agents", params={"limit": "500"}).raise_for_status()
        admin.get("/v2.0/networks").raise_for_status()
        admin.get("/v2.0/subnets").raise_for_status()
    for i in range(20):
        net = admin.post("/v2.0/networks", json={"network": {"name": f"m{i}"}}).json()
        nid = net["network"]["id"]
        admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": nid, "cidr": f"172.16.{i}.0/24"}}).raise_for_status()
        admin.post("/v2.0/ports", json={"port": {"network_id": nid}}).raise_for_status()
    for i in range(min(agents, 500)):
        agent.post("/agent-rpc/v1/report_state", json={
            "agent_type": "DHCP agent", "binary": "neutrino-dhcp-agent",
            "host": f"bench-{i:05d}", "topic": "dhcp_agent",
            "configurations": {"networks": 10}}).raise_for_status()


def process_rss(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def pss_uss(pid: int) -> tuple[int, int]:
    """Proportional and unique set size: what the process shares with its siblings (the
    interpreter, libraries) counts 1/n in PSS and not at all in USS."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0]) * 1024
    return fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def worker_pids(server_pid: int, workers: int) -> list[int]:
    """The API workers: the server itself with one worker, else uvicorn's spawned children
    (not multiprocessing's resource tracker)."""
    if workers == 1:
        return [server_pid]
    with open(f"/proc/{server_pid}/task/{server_pid}/children") as f:
        children = [int(c) for c in f.read().split()]
    found = []
    for pid in children:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"resource_tracker" not in f.read():
                found.append(pid)
    return sorted(found)


def old_tree(ref: str, stack: contextlib.ExitStack) -> str:
    """`git archive ref` unpacked in a temporary directory: that commit's code."""
    where = stack.enter_context(tempfile.TemporaryDirectory())
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(["git", "-C", here, "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", where], input=archive, check=True)
    return where


def measure_process(kind: str, transport: str, workers: int, code_dir: str | None,
                    args: argparse.Namespace) -> list[dict[str, float]]:
    """Each worker's memory (MiB) in a real neutrino-server under bench's workload."""
    exchange = "mem_bench_" + uuid.uuid4().hex[:8]
    extra = "agent_down_time = 86400\n"
    if transport == "rabbit":
        extra += f"transport_url = {RABBIT_URL}\ncontrol_exchange = {exchange}\n"
    try:
        with database(kind) as url, server(url, extra, workers=workers,
                                           code_dir=code_dir) as srv:
            pids = worker_pids(srv.proc.pid, workers)
            idle = {pid: process_rss(pid) for pid in pids}
            fill_all(url, args.agents, args.networks)
            work(srv.url, args.agents)
            after = {pid: process_rss(pid) for pid in pids}
            time.sleep(HEAP_TRIM_PERIOD + 1)  # a figure, not a synchronisation: one trim pass
            out = []
            for pid in pids:
                pss, uss = pss_uss(pid)
                out.append({"idle": idle[pid] / MIB, "after": after[pid] / MIB,
                            "settled": process_rss(pid) / MIB,
                            "peak": process_rss(pid, "VmHWM") / MIB,
                            "pss": pss / MIB, "uss": uss / MIB})
            return out
    finally:
        if transport == "rabbit":
            from tests.support.broker import delete_topology

            delete_topology(RABBIT_URL, exchange)


def report_processes(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        trees: dict[str, str | None] = {ref: old_tree(ref, stack) for ref in args.old_ref}
        trees["this tree"] = None
        for kind in args.db:
            transport = "rabbit" if kind != "sqlite" and args.rabbit else "http"
            print(f"{kind} + {transport}, {args.workers} API worker(s), {args.agents} DHCP + "
                  f"{args.agents} L2 agents, {args.networks} networks; MiB per worker: RSS "
                  f"idle / right after the work / {HEAP_TRIM_PERIOD + 1:.0f} s later / peak, "
                  "then PSS and USS at the end")
            for name, tree in trees.items():
                load = os.getloadavg()[0]
                for i, w in enumerate(measure_process(kind, transport, args.workers, tree,
                                                      args)):
                    print(f"  {name:9s} worker {i + 1}: RSS {w['idle']:5.0f} / {w['after']:5.0f}"
                          f" / {w['settled']:5.0f} / peak {w['peak']:5.0f}   PSS "
                          f"{w['pss']:5.0f}  USS {w['uss']:5.0f}   (load {load:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--networks", type=int, default=10000)
    parser.add_argument("--db", nargs="+", default=["sqlite"])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--no-trace", action="store_true",
                        help="RSS only: tracemalloc's own bookkeeping inflates RSS")
    parser.add_argument("--process", action="store_true",
                        help="real neutrino-server processes instead: each worker's RSS, "
                             "peak, PSS and USS from /proc, no tracemalloc; --db may name "
                             "several")
    parser.add_argument("--workers", type=int, default=1, help="api_workers (--process)")
    parser.add_argument("--rabbit", action="store_true",
                        help="--process: agents over RabbitMQ on the databases other than "
                             "SQLite, as side_by_side.py's production stack")
    parser.add_argument("--old-ref", nargs="*", default=[],
                        help="--process: also measure these git refs' code, in the same run")
    args = parser.parse_args()
    if args.process:
        report_processes(args)
        return
    args.db = args.db[0]
    if not args.no_trace:
        tracemalloc.start(1)
    with database(args.db) as url, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = load_server_settings([], overrides={
            "db_connection": url, "state_path": tmp, "bind_host": "127.0.0.1",
            "bind_port": port}).replace(tenant_network_types=["vxlan"],
                                        vni_ranges=[(1, 100000)], agent_down_time=86400)
        db = Database(url)
        migrate.upgrade(db.engine)
        # Rows are written by a child: the memory that takes is not this worker's.
        filler = multiprocessing.get_context("spawn").Process(
            target=fill_all, args=(url, args.agents, args.networks))
        filler.start()
        filler.join()
        app = create_app(settings, db)
        store = app.state.services.identity
        store.bootstrap(*ADMIN)
        store.create_project(AGENT[2])
        store.create_user(AGENT[0], AGENT[1], AGENT[2], "service")
        gc.collect()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        started_rss = rss()
        base = tracemalloc.take_snapshot() if not args.no_trace else None
        client = multiprocessing.get_context("spawn").Process(
            target=work, args=(f"http://127.0.0.1:{port}", args.agents))
        client.start()
        client.join()
        gc.collect()
        print(f"{args.agents} DHCP + {args.agents} L2 agents, {args.networks} networks "
              f"(subnet, 2 bindings each), {args.db}, one worker, MALLOC_ARENA_MAX="
              f"{os.environ.get('MALLOC_ARENA_MAX', 'unset')}")
        print(f"  RSS started {started_rss / MIB:.0f} MiB, after the work "
              f"{rss() / MIB:.0f} MiB, peak {rss('VmHWM') / MIB:.0f} MiB "
              "(the peak: the largest response, GET /v2.0/networks of all)")
        pooled = db.engine.pool.checkedin()  # type: ignore[attr-defined]
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        print(f"  after malloc_trim(0): {rss() / MIB:.0f} MiB (the rest is live; the "
              f"difference was freed heap kept by the allocator); {pooled} pooled "
              "database connections")
        if base is None:
            server.should_exit = True
            thread.join(10)
            db.dispose()
            return
        after = tracemalloc.take_snapshot()
        current, peak = tracemalloc.get_traced_memory()
        print(f"  tracemalloc: {current / MIB:.1f} MiB held now, {peak / MIB:.1f} MiB peak")
        print("  top allocation sites held after the work (growth since serving began):")
        for stat in after.compare_to(base, "lineno")[:args.top]:
            print(f"    {stat.size_diff / MIB:7.2f} MiB {stat.count_diff:>8} blocks  "
                  f"{stat.traceback}")
        print("  top allocation sites held in all:")
        for stat in after.statistics("filename")[:args.top]:
            print(f"    {stat.size / MIB:7.2f} MiB  {stat.traceback}")
        server.should_exit = True
        thread.join(10)
        db.dispose()


if __name__ == "__main__":
    main()
