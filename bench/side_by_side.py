"""Neutrino beside upstream Neutron 29 in one run: the same fake-agent workload on each.

Run: .venv/bin/python bench/side_by_side.py [--agents 500 2000] [--repeats 2] [--quick]
     [--systems neutron29 neutrino-sqlite-http neutrino-mariadb-rabbit]

Systems (each started fresh for every round, on a fresh database):
- neutron29: upstream Neutron 29.0.0 from PyPI in its own virtualenv (bench/peer/
  neutron_setup.sh makes it): the API under uwsgi (2 processes), neutron-rpc-server,
  neutron-periodic-workers, MariaDB, RabbitMQ; fake agents speak oslo.messaging's
  `report_state` as neutron-dhcp-agent does (bench/peer/neutron_agents.py).
- neutrino-sqlite-http: the embedded default, 2 API workers, agents over HTTP.
- neutrino-mariadb-rabbit: MariaDB and RabbitMQ, 2 API workers, agents over RabbitMQ.

Workload per round, N hosts: N DHCP + N L2 agents registered, each reporting every 30 s in
the background; GET /v2.0/agents (2N rows) and ?agent_type=DHCP agent; 200 x network +
/24 subnet + port (scheduled onto 2 DHCP agents); add-network-to-agent; a flood of
report_state from CALLERS processes; server RSS. Rounds alternate systems, and each waits
for a quiet machine first (load average recorded). The figure that is fair on 2 cores is
the servers' CPU time per report_state (all their processes, from psutil): the Python
callers saturate the machine before any server does. Prints a table with ratios.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, database, free_port, server  # noqa: E402
from neutrino.agent_protocol.messages import AgentState  # noqa: E402
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE  # noqa: E402
from neutrino.transport.client import AgentServerClient  # noqa: E402
from neutrino.transport.factory import make_agent_client  # noqa: E402
from neutrino.transport.http_client import HttpAgentClient  # noqa: E402

HERE = Path(__file__).resolve().parent
RABBIT_URL = os.environ.get("NEUTRINO_BENCH_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")
REPORT_INTERVAL = 30.0
LISTS = 20


# -- what every system offers the workload ---------------------------------------------

@dataclass
class Running:
    name: str
    api: httpx.Client                  # base_url is the API root; /v2.0/... paths
    roots: list[psutil.Process]        # server processes; their children count too
    logs: list[Path]
    register: Callable[[int], None]    # first reports of N DHCP + N L2 agents
    heartbeats: Callable[[int], Callable[[], None]]   # starts; returns stop()
    flood: Callable[[int, float, int, float], int]     # n, seconds, callers, start_at
    network_body: Callable[[int], dict[str, Any]]
    extras: dict[str, float] = field(default_factory=dict)

    def processes(self) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for root in self.roots:
            try:
                found.append(root)
                found.extend(root.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return found

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total

    def rss_mib(self) -> tuple[float, float]:
        """All server processes together, and the largest one."""
        sizes = []
        for proc in self.processes():
            try:
                sizes.append(proc.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                continue
        return sum(sizes), max(sizes, default=0.0)

    def deadlocks(self) -> int:
        return sum(log.read_text(errors="replace").count("Deadlock found")
                   for log in self.logs if log.exists())


# -- Neutrino ----------------------------------------------------------------------------

def _dhcp(host: str, start: bool) -> AgentState:
    return AgentState(agent_type=AGENT_TYPE_DHCP, binary="neutrino-dhcp-agent", host=host,
                      topic="dhcp_agent", start_flag=start,
                      configurations={"networks": 0, "subnets": 0, "ports": 0})


def _l2(host: str, start: bool) -> AgentState:
    mappings = {"physnet1": "eth0"}
    return AgentState(agent_type=AGENT_TYPE_LINUXBRIDGE, binary="neutrino-linuxbridge-agent",
                      host=host, start_flag=start,
                      configurations={"interface_mappings": mappings, "devices": 0,
                                      "tunnel_types": ["vxlan"], "tunneling_ip": "192.0.2.1"})


def _hosts(n: int) -> list[str]:
    return [f"fakehost-{i:05d}" for i in range(n)]


def _neutrino_client(spec: tuple[str, str]) -> AgentServerClient:
    kind, where = spec
    if kind == "http":
        return HttpAgentClient(where, *AGENT)
    return make_agent_client(RABBIT_URL, control_exchange=where)


def _neutrino_register(spec: tuple[str, str], hosts: list[str]) -> None:
    client = _neutrino_client(spec)
    for host in hosts:
        client.report_state(_dhcp(host, True))
        client.report_state(_l2(host, True))
    client.close()


def _neutrino_heartbeat(spec: tuple[str, str], n: int) -> None:
    client = _neutrino_client(spec)
    states = [s for host in _hosts(n) for s in (_dhcp(host, False), _l2(host, False))]
    gap, next_at = REPORT_INTERVAL / len(states), time.monotonic()
    while True:
        for state in states:
            client.report_state(state)
            next_at += gap
            time.sleep(max(0.0, next_at - time.monotonic()))


def _neutrino_flood_one(spec: tuple[str, str], hosts: list[str], seconds: float,
                        start_at: float, out: Any) -> None:
    client = _neutrino_client(spec)
    states = [_dhcp(host, False) for host in hosts]
    time.sleep(max(0.0, start_at - time.time()))
    done = 0
    while time.time() < start_at + seconds:
        client.report_state(states[done % len(states)])
        done += 1
    client.close()
    out.put(done)


def _processes(target: Callable[..., None], args: list[tuple[Any, ...]]
               ) -> list[multiprocessing.Process]:
    procs = [multiprocessing.Process(target=target, args=a, daemon=True) for a in args]
    for proc in procs:
        proc.start()
    return procs


def _neutrino_ops(spec: tuple[str, str]) -> dict[str, Any]:
    def register(n: int, parts: int = 4) -> None:
        names = _hosts(n)
        for proc in _processes(_neutrino_register, [(spec, names[i::parts])
                                                    for i in range(parts)]):
            proc.join()

    def heartbeats(n: int) -> Callable[[], None]:
        proc = _processes(_neutrino_heartbeat, [(spec, n)])[0]
        return proc.kill

    def flood(n: int, seconds: float, callers: int, start_at: float) -> int:
        out: multiprocessing.Queue[int] = multiprocessing.Queue()
        names = _hosts(n)
        procs = _processes(_neutrino_flood_one, [(spec, names[i::callers], seconds,
                                                  start_at, out) for i in range(callers)])
        calls = sum(out.get() for _ in procs)
        for proc in procs:
            proc.join()
        return calls

    return {"register": register, "heartbeats": heartbeats, "flood": flood,
            "network_body": lambda i: {"network": {"name": f"b{i}"}}}


@contextmanager
def neutrino(db: str, transport: str) -> Iterator[Running]:
    exchange = "neutrino_peer_" + uuid.uuid4().hex[:8]
    extra = "agent_down_time = 75\ndhcp_agents_per_network = 2\n"
    if transport == "rabbit":
        extra += f"transport_url = {RABBIT_URL}\ncontrol_exchange = {exchange}\n"
    with database(db) as url, server(url, extra, workers=2) as srv:
        admin = httpx.Client(base_url=srv.url, headers={"X-Auth-Token": srv.token()},
                             timeout=60)
        spec = ("http", srv.url) if transport == "http" else ("rabbit", exchange)
        yield Running(name=f"neutrino-{db}-{transport}", api=admin,
                      roots=[psutil.Process(srv.proc.pid)], logs=[Path(srv.log)],
                      **_neutrino_ops(spec))
        admin.close()
    if transport == "rabbit":
        from tests.support.broker import delete_topology

        delete_topology(RABBIT_URL, exchange)


# -- Neutron 29 --------------------------------------------------------------------------

@contextmanager
def neutron29(peer_dir: Path) -> Iterator[Running]:
    port = free_port()
    subprocess.run([str(HERE / "peer" / "neutron_setup.sh"), str(peer_dir), str(port)],
                   check=True)
    venv, conf = peer_dir / "venv" / "bin", peer_dir / "neutron.conf"
    for log in (peer_dir / "log").glob("*.log"):
        log.unlink()
    with ExitStack() as stack:
        procs = []
        for argv in ([str(venv / "uwsgi"), "--ini", str(peer_dir / "uwsgi.ini")],
                     [str(venv / "neutron-rpc-server"), "--config-file", str(conf)],
                     [str(venv / "neutron-periodic-workers"), "--config-file", str(conf)]):
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            stack.callback(_end, proc)
            procs.append(proc)
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        _wait_api(api, procs)
        agents = [str(venv / "python"), str(HERE / "peer" / "neutron_agents.py"), str(conf)]

        def register(n: int) -> None:
            subprocess.run([*agents, "register", str(n)], check=True, capture_output=True)

        def heartbeats(n: int) -> Callable[[], None]:
            proc = subprocess.Popen([*agents, "heartbeat", str(n)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            return lambda: _end(proc)

        def flood(n: int, seconds: float, callers: int, start_at: float) -> int:
            out = subprocess.run([*agents, "flood", str(n), str(seconds), str(callers),
                                  str(start_at)], check=True, capture_output=True, text=True)
            return int(json.loads(out.stdout.strip().splitlines()[-1])["calls"])

        def network_body(i: int) -> dict[str, Any]:
            return {"network": {"name": f"b{i}"}}

        yield Running(name="neutron29", api=api, roots=[psutil.Process(p.pid) for p in procs],
                      logs=list((peer_dir / "log").glob("*.log")), register=register,
                      heartbeats=heartbeats, flood=flood, network_body=network_body)
        api.close()


def _wait_api(api: httpx.Client, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a Neutron process exited at start; see its logs")
        try:
            if api.get("/v2.0/networks").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("Neutron's API did not answer within 180 s")


def _end(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM to its process group (uwsgi and the RPC server have workers), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # not a group leader: the process alone
            proc.send_signal(sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue


# -- the workload ------------------------------------------------------------------------

def p50_ms(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def wait_quiet(limit: float, longest: float) -> float:
    """Wait (at most `longest` s) for the 1-minute load average to fall below `limit`."""
    deadline = time.monotonic() + longest
    while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        time.sleep(2)
    return os.getloadavg()[0]


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def workload(sys_: Running, n: int, seconds: float, callers: int, creates: int
             ) -> dict[str, float]:
    sys_.register(n)
    stop_heartbeats = sys_.heartbeats(n)
    try:
        api = sys_.api
        deadline = time.monotonic() + 120
        while len(_ok(api.get("/v2.0/agents"))["agents"]) < 2 * n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sys_.name}: not all {2 * n} agents registered")
            time.sleep(0.5)
        out: dict[str, float] = {}
        out["list_ms"] = p50_ms(lambda: _ok(api.get("/v2.0/agents")), LISTS)
        out["list_dhcp_ms"] = p50_ms(
            lambda: _ok(api.get("/v2.0/agents", params={"agent_type": AGENT_TYPE_DHCP})), LISTS)
        counter = iter(range(10**6))
        nets: list[str] = []

        def create() -> None:
            i = next(counter)
            net = _ok(api.post("/v2.0/networks", json=sys_.network_body(i)))["network"]["id"]
            _ok(api.post("/v2.0/subnets", json={"subnet": {
                "network_id": net, "ip_version": 4,
                "cidr": f"10.{i // 250}.{i % 250}.0/24"}}))
            _ok(api.post("/v2.0/ports", json={"port": {"network_id": net}}))
            nets.append(net)

        out["create_ms"] = p50_ms(create, creates)
        hosted = [len(_ok(api.get(f"/v2.0/networks/{net}/dhcp-agents"))["agents"])
                  for net in nets[:: max(1, len(nets) // 10)]]
        out["scheduled_agents"] = statistics.mean(hosted)
        dhcp = [a["id"] for a in _ok(api.get("/v2.0/agents", params={
            "agent_type": AGENT_TYPE_DHCP}))["agents"]]
        pairs = iter([(agent, net) for net in nets for agent in dhcp[-3:]])

        def add() -> None:
            agent, net = next(pairs)
            r = api.post(f"/v2.0/agents/{agent}/dhcp-networks", json={"network_id": net})
            if r.status_code not in (200, 201, 409):
                raise RuntimeError(f"add network: {r.status_code} {r.text[:300]}")

        out["add_ms"] = p50_ms(add, creates // 2)
        # The callers connect first and start together at start_at. The servers' CPU time
        # is read before they connect and after the last one ends: connection set-up and
        # the background heartbeats of that whole window count as reports served.
        start_at = time.time() + 5.0
        measured_from, before = time.time(), sys_.cpu_seconds()
        calls = sys_.flood(n, seconds, callers, start_at)
        cpu = sys_.cpu_seconds() - before
        background = 2 * n / REPORT_INTERVAL * (time.time() - measured_from)
        out["reports_per_s"] = calls / seconds
        out["cpu_ms_per_report"] = cpu / (calls + background) * 1000
        out["rss_total_mib"], out["rss_largest_mib"] = sys_.rss_mib()
        out["deadlocks"] = float(sys_.deadlocks())
        return out
    finally:
        stop_heartbeats()


SYSTEMS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "neutron29": lambda a: neutron29(Path(a.peer_dir)),
    "neutrino-sqlite-http": lambda a: neutrino("sqlite", "http"),
    "neutrino-mariadb-rabbit": lambda a: neutrino("mariadb", "rabbit"),
}
ROWS = [("report_state calls/s", "reports_per_s", "{:.0f}", True),
        ("server CPU per report_state (ms)", "cpu_ms_per_report", "{:.2f}", False),
        ("GET /v2.0/agents, 2N rows (ms)", "list_ms", "{:.1f}", False),
        ("GET ?agent_type=DHCP agent (ms)", "list_dhcp_ms", "{:.1f}", False),
        ("network + subnet + port (ms)", "create_ms", "{:.1f}", False),
        ("add network to agent (ms)", "add_ms", "{:.1f}", False),
        ("DHCP agents per new network", "scheduled_agents", "{:.1f}", True),
        ("server RSS, all processes (MiB)", "rss_total_mib", "{:.0f}", False),
        ("largest server process RSS (MiB)", "rss_largest_mib", "{:.0f}", False),
        ("'Deadlock found' in server logs", "deadlocks", "{:.0f}", False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="report_state flood")
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--creates", type=int, default=200,
                        help="network + subnet + port trios (and half as many adds)")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--peer-dir", default="/var/tmp/neutrino-peer-neutron29",
                        help="where Neutron 29's virtualenv, configuration and logs live")
    parser.add_argument("--quiet-load", type=float, default=1.5,
                        help="wait for a 1-minute load average below this before a round")
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 agents, 1 repeat, 3 s flood, 2 callers, 20 trios")
    args = parser.parse_args()
    if args.quick:
        args.agents, args.repeats, args.seconds, args.callers, args.creates = [20], 1, 3.0, 2, 20
    if "neutron29" in args.systems and not shutil.which("mariadb"):
        raise SystemExit("Neutron 29 needs the mariadb client to make its database")
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    for n in args.agents:
        for repeat in range(args.repeats):
            order = args.systems if repeat % 2 == 0 else list(reversed(args.systems))
            for name in order:
                load = wait_quiet(args.quiet_load, args.quiet_wait)
                print(f"-- {name}, N={n}, repeat {repeat + 1}: load average {load:.2f}",
                      flush=True)
                with SYSTEMS[name](args) as running:
                    figures = workload(running, n, args.seconds, args.callers, args.creates)
                figures["load"] = load
                results.setdefault((name, n), []).append(figures)
    report(results, args)


def report(results: dict[tuple[str, int], list[dict[str, float]]],
           args: argparse.Namespace) -> None:
    def mean(name: str, n: int, key: str) -> float:
        rows = results.get((name, n), [])
        return statistics.mean(r[key] for r in rows) if rows else float("nan")

    print(f"\nmeans of {args.repeats} repeat(s); {args.callers} callers for {args.seconds:.0f} s; "
          f"{os.cpu_count()} CPUs; ratio = how many times better than neutron29")
    for n in args.agents:
        print(f"\nN = {n} hosts ({2 * n} agents)")
        head = f"{'':36}" + "".join(f"{name:>26}" for name in args.systems)
        print(head)
        for label, key, fmt, higher in ROWS:
            cells = []
            base = mean("neutron29", n, key)
            for name in args.systems:
                value = mean(name, n, key)
                text = fmt.format(value)
                if name != "neutron29" and base == base and value and key not in (
                        "scheduled_agents", "deadlocks"):
                    ratio = value / base if higher else base / value
                    text += f" ({ratio:.1f}x)"
                cells.append(f"{text:>26}")
            print(f"{label:36}" + "".join(cells))
        loads = [r["load"] for name in args.systems for r in results.get((name, n), [])]
        print(f"{'load average before rounds':36}{min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
