"""Server CPU per routine report_state, old code against new in one run, per stack.

Run: .venv/bin/python bench/heartbeat_cpu_bench.py [--stacks sqlite-http mariadb-rabbit]
         [--old-ref main] [--agents 500] [--seconds 10] [--callers 4] [--rounds 2]
Each round starts a 2-worker neutrino-server of the old code (`git archive <old-ref>` in a
temporary directory) and one of this tree, each on a fresh database (and its own RabbitMQ
exchange), registers `--agents` DHCP agents, then floods routine reports (nothing changed)
from `--callers` processes (or, with `--burst N`, queues N calls on the broker at once).
Server CPU is psutil's user + system time of the server and
all its children, read around the flood. Prints calls/s and CPU per call; asserts nothing.
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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
from kombu import Connection, Producer, Queue

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import AGENT, database, server  # noqa: E402
from neutrino.agent_protocol.messages import AgentState  # noqa: E402
from neutrino.neutron_names import AGENT_TYPE_DHCP  # noqa: E402
from neutrino.transport.client import AgentServerClient  # noqa: E402
from neutrino.transport.factory import make_agent_client  # noqa: E402
from neutrino.transport.http_client import HttpAgentClient  # noqa: E402
from neutrino.transport.rabbit_topology import RPC_TOPIC, RpcRequest, Topology  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RABBIT_URL = os.environ.get("NEUTRINO_BENCH_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")
Spec = tuple[str, str]  # ("http", server url) or ("rabbit", control exchange)


def _state(host: str, start: bool) -> AgentState:
    return AgentState(agent_type=AGENT_TYPE_DHCP, binary="neutrino-dhcp-agent", host=host,
                      topic="dhcp_agent", start_flag=start,
                      configurations={"networks": 3, "subnets": 3, "ports": 6})


def _client(spec: Spec) -> AgentServerClient:
    kind, where = spec
    if kind == "http":
        return HttpAgentClient(where, *AGENT)
    return make_agent_client(RABBIT_URL, control_exchange=where)


def _register(spec: Spec, hosts: list[str]) -> None:
    client = _client(spec)
    for host in hosts:
        client.report_state(_state(host, True))
    client.close()


def _flood(spec: Spec, hosts: list[str], start_at: float, seconds: float, out: Any) -> None:
    client = _client(spec)
    states = [_state(host, False) for host in hosts]
    client.report_state(states[0])  # connected and warm before the clock starts
    time.sleep(max(0.0, start_at - time.time()))
    done = 0
    while time.time() < start_at + seconds:
        client.report_state(states[done % len(states)])
        done += 1
    client.close()
    out.put(done)


def _burst(exchange: str, hosts: list[str], calls: int, root: psutil.Process
           ) -> tuple[float, float]:
    """Queue `calls` routine reports on the broker at once and wait for every reply; the
    server works flat out, whatever the callers could do: (server CPU s, wall s)."""
    topology = Topology(exchange)
    bodies = [RpcRequest(method="report_state", args=_state(host, False).model_dump())
              .model_dump_json().encode() for host in hosts]
    replies = Queue("hbcpu_bench_replies_" + uuid.uuid4().hex[:8], durable=False)
    with Connection(RABBIT_URL.replace("rabbit://", "amqp://", 1)) as conn:
        channel = conn.channel()
        replies(channel).declare()
        producer = Producer(channel)
        before, started = _cpu(root), time.monotonic()
        for i in range(calls):
            producer.publish(bodies[i % len(bodies)], exchange=topology.topic_exchange,
                             routing_key=RPC_TOPIC, reply_to=replies.name,
                             correlation_id=str(i), content_type="application/json",
                             content_encoding="utf-8", serializer=None)
        deadline = time.monotonic() + 600
        while replies(channel).queue_declare(passive=True).message_count < calls:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer every queued call")
            time.sleep(0.05)
        cpu, wall = _cpu(root) - before, time.monotonic() - started
        replies(channel).delete()
    return cpu, wall


def _run_all(target: Any, args: list[tuple[Any, ...]]) -> list[multiprocessing.Process]:
    procs = [multiprocessing.Process(target=target, args=a, daemon=True) for a in args]
    for proc in procs:
        proc.start()
    return procs


def _cpu(root: psutil.Process) -> float:
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


@contextmanager
def _stack(stack: str, code_dir: str | None, workers: int
           ) -> Iterator[tuple[Spec, psutil.Process, str]]:
    db, transport = stack.split("-")
    exchange = "hbcpu_bench_" + uuid.uuid4().hex[:8]
    extra = "agent_down_time = 75\n"
    if transport == "rabbit":
        extra += f"transport_url = {RABBIT_URL}\ncontrol_exchange = {exchange}\n"
    with database(db) as url, server(url, extra, workers=workers, code_dir=code_dir) as srv:
        spec: Spec = ("http", srv.url) if transport == "http" else ("rabbit", exchange)
        yield spec, psutil.Process(srv.proc.pid), srv.log
    if transport == "rabbit":
        from tests.support.broker import delete_topology

        delete_topology(RABBIT_URL, exchange)


def measure(stack: str, code_dir: str | None, agents: int, seconds: float, callers: int,
            workers: int, burst: int = 0) -> dict[str, float]:
    with _stack(stack, code_dir, workers) as (spec, root, log):
        hosts = [f"hbcpu-{i:05d}" for i in range(agents)]
        for proc in _run_all(_register, [(spec, hosts[i::4]) for i in range(4)]):
            proc.join()
        if burst and spec[0] == "rabbit":
            for proc in _run_all(_flood, [(spec, hosts, time.time(), 1.0,
                                           multiprocessing.Queue())]):
                proc.join()  # a routine report of each agent first, as in the flood
            cpu, wall = _burst(spec[1], hosts, burst, root)
            return {"calls_per_s": burst / wall, "cpu_ms_per_call": cpu / burst * 1000}
        out: multiprocessing.Queue[int] = multiprocessing.Queue()
        start_at = time.time() + 3.0
        procs = _run_all(_flood, [(spec, hosts[i::callers], start_at, seconds, out)
                                  for i in range(callers)])
        time.sleep(max(0.0, start_at - time.time()))
        before = _cpu(root)
        calls = sum(out.get() for _ in procs)
        cpu = _cpu(root) - before
        for proc in procs:
            proc.join()
        with open(log) as f:
            deadlocks = f.read().count("Deadlock found")
        return {"calls_per_s": calls / seconds, "cpu_ms_per_call": cpu / calls * 1000,
                "deadlocks": float(deadlocks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", nargs="+", default=["sqlite-http", "mariadb-rabbit"],
                        choices=["sqlite-http", "sqlite-rabbit", "mariadb-http",
                                 "mariadb-rabbit", "postgresql-http", "postgresql-rabbit"])
    parser.add_argument("--old-ref", default="main", help="'' to measure this tree only")
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="[DEFAULT] api_workers")
    parser.add_argument("--burst", type=int, default=0,
                        help="RabbitMQ stacks: queue this many calls at once instead of the "
                        "callers' flood (CPU per call without the callers' limits)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as old_dir:
        codes: dict[str, str | None] = {"new": None}
        if args.old_ref:
            archive = subprocess.run(["git", "-C", HERE, "archive", args.old_ref],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", old_dir], input=archive, check=True)
            codes = {"old": old_dir, "new": None}
        for stack in args.stacks:
            results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
            loads = []
            for _ in range(args.rounds):  # alternating, so load drift hits both alike
                for name, code_dir in codes.items():
                    loads.append(os.getloadavg()[0])
                    results[name].append(measure(
                        stack, code_dir, args.agents, args.seconds, args.callers,
                        args.workers, args.burst))
            print(f"{stack}, {args.workers} workers, {args.agents} agents, {args.callers} "
                  f"callers x {args.seconds:.0f} s (or a burst of {args.burst}), load "
                  f"{min(loads):.2f}-{max(loads):.2f} (mean of {args.rounds} rounds)")
            for figure in results["new"][0]:
                row = {name: sum(r[figure] for r in rs) / len(rs) for name, rs in results.items()}
                shown = "   ".join(f"{name} {value:9.3f}" for name, value in row.items())
                print(f"  {figure:16s} {shown}")


if __name__ == "__main__":
    main()
