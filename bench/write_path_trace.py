"""Round trips and profile of the write path: network + subnet + port and add-network.

Run: .venv/bin/python bench/write_path_trace.py [--db mariadb] [--agents 500] [--show]
         [--profile out.prof] [--transport http|rabbit]
A real server in this process (tests/support/server.py) on a fresh database with N DHCP + N
L2 agents (bench/fleet_scale_bench.py's rows). Counts the statements each request sends
(SQLAlchemy before_cursor_execute, plus the driver's own BEGIN/COMMIT/ROLLBACK, which
SQLAlchemy sends without a cursor), per request kind, after a warm-up; --show prints each
statement's first words; --profile writes a cProfile of the measured requests.
Asserts nothing beyond the calls answering.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.fleet_scale_bench import CONFIG, fill  # noqa: E402
from tests.support.databases import fresh_database  # noqa: E402
from tests.support.server import running_server, settings_for  # noqa: E402

RABBIT_URL = os.environ.get("NEUTRINO_BENCH_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")


class Statements:
    """Statements sent on the engine, by first words, while `recording`."""

    def __init__(self, engine: Any) -> None:
        self.recording = False
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._cursor)
        for name in ("begin", "commit", "rollback", "savepoint", "release_savepoint",
                     "rollback_savepoint"):
            event.listen(engine, name, self._named(name.upper()))

    def _cursor(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self._note(" ".join(statement.split())[:110])

    def _named(self, name: str) -> Any:
        def hook(*_: Any) -> None:
            self._note(name)
        return hook

    def _note(self, what: str) -> None:
        if self.recording:
            self.seen.append(what)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.seen = []
        self.recording = True
        try:
            yield self.seen
        finally:
            self.recording = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="mariadb")
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--transport", choices=("http", "rabbit"), default="http")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--background", action="store_true",
                        help="run the server's loops too (their statements count as well)")
    parser.add_argument("--direct", action="store_true",
                        help="call the services in this thread, no HTTP (what --profile "
                             "then sees is the services' and the database's share)")
    parser.add_argument("--show", action="store_true", help="print each statement")
    parser.add_argument("--profile", help="write a cProfile of the measured requests here")
    args = parser.parse_args()
    overrides: dict[str, Any] = {"agent_down_time": 86400, "dhcp_agents_per_network": 2,
                                 "vni_ranges": [(1, 100000)]}
    assert "dhcp_agents_per_network = 2" in CONFIG  # the same settings as the scale bench
    if args.transport == "rabbit":
        overrides.update(transport_url=RABBIT_URL,
                         control_exchange=f"apiwrite_trace_{os.getpid()}")
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.db, tmp) as url:
        settings = settings_for(url, tmp, **overrides)
        # No background loops (they share the request threads): only requests' statements.
        with running_server(settings, background=args.background) as srv:
            fill(url, args.agents)
            statements = Statements(srv.db.engine)
            if args.direct:
                run_direct(srv.app.state.services, statements, args)
            else:
                with srv.client() as c:
                    run(c, statements, args)


def run_direct(services: Any, statements: Statements, args: argparse.Namespace) -> None:
    times: dict[str, list[float]] = {}
    counts: dict[str, Counter[int]] = {}
    profiler = cProfile.Profile() if args.profile else None
    agents = [a["id"] for a in services.agents.list({"agent_type": ["DHCP agent"]})[0]][:50]

    def call(kind: str, measured: bool, fn: Any, *a: Any) -> Any:
        with statements.counting() as seen:
            start = time.perf_counter()
            if profiler and measured:
                profiler.enable()
            out = fn(*a)
            if profiler and measured:
                profiler.disable()
            elapsed = time.perf_counter() - start
        if measured:
            counts.setdefault(kind, Counter())[len(seen)] += 1
            times.setdefault(kind, []).append(elapsed)
        return out

    for i in range(10 + args.repeats):
        measured = i >= 10
        net = call("network", measured, services.networks.create, "admin",
                   {"name": f"t{i}"})["id"]
        call("subnet", measured, services.subnets.create, "admin",
             {"network_id": net, "cidr": f"10.{i // 250}.{i % 250}.0/24"})
        call("port", measured, services.ports.create, "admin", {"network_id": net})
        hosting = {a.id for a in services.bindings.agents_of_network(net)}
        free = next(a for a in agents if a not in hosting)
        call("add network", measured, services.bindings.add, free, net)
    report(args, counts, times, profiler)


def report(args: argparse.Namespace, counts: dict[str, Counter[int]],
           times: dict[str, list[float]], profiler: cProfile.Profile | None) -> None:
    print(f"{args.db} + {args.transport}, N={args.agents}, load {os.getloadavg()[0]:.1f}: "
          "statements per request (count x requests), p50 ms in-process")
    for kind, counter_ in counts.items():
        samples = sorted(times[kind])
        print(f"  {kind:12} {dict(sorted(counter_.items()))}  "
              f"p50 {samples[len(samples) // 2] * 1000:.1f} ms")
    if profiler:
        profiler.dump_stats(args.profile)


def run(c: Any, statements: Statements, args: argparse.Namespace) -> None:
    counter = iter(range(10**6))
    counts: dict[str, Counter[int]] = {}
    shown: set[str] = set()
    times: dict[str, list[float]] = {}
    profiler = cProfile.Profile() if args.profile else None

    def call(kind: str, method: str, path: str, body: dict[str, Any], measured: bool
             ) -> Any:
        with statements.counting() as seen:
            start = time.perf_counter()
            if profiler and measured:
                profiler.enable()
            r = c.request(method, path, json=body)
            if profiler and measured:
                profiler.disable()
            elapsed = time.perf_counter() - start
        assert r.status_code in (200, 201), r.text
        if measured:
            counts.setdefault(kind, Counter())[len(seen)] += 1
            times.setdefault(kind, []).append(elapsed)
            if args.show and kind not in shown:
                shown.add(kind)
                print(f"--- {kind}: {len(seen)} statements")
                for s in seen:
                    print("   ", s)
        return r.json()

    agents = [a["id"] for a in c.get("/v2.0/agents", params={
        "agent_type": "DHCP agent", "limit": "50"}).json()["agents"]]
    for i in range(10 + args.repeats):
        measured = i >= 10
        n = next(counter)
        net = call("network", "POST", "/v2.0/networks", {"network": {"name": f"t{n}"}},
                   measured)["network"]["id"]
        call("subnet", "POST", "/v2.0/subnets", {"subnet": {
            "network_id": net, "cidr": f"10.{n // 250}.{n % 250}.0/24"}}, measured)
        call("port", "POST", "/v2.0/ports", {"port": {"network_id": net}}, measured)
        hosting = {a["id"] for a in c.get(f"/v2.0/networks/{net}/dhcp-agents"
                                          ).json()["agents"]}
        free = next(a for a in agents if a not in hosting)
        call("add network", "POST", f"/v2.0/agents/{free}/dhcp-networks",
             {"network_id": net}, measured)
    report(args, counts, times, profiler)


if __name__ == "__main__":
    main()
