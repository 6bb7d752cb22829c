"""Agent transport speed, HTTP vs RabbitMQ: state reports per second, and how long an API
change takes to reach an agent's client as an event.

Run: .venv/bin/python bench/transport_bench.py [--db sqlite] [--seconds 3] [--threads 4]
Each driver gets its own real neutrino-server process and database. Prints figures side by
side; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import ADMIN, AGENT, database, median_ms, p, server, timed
from neutrino.agent_protocol.messages import AgentState
from neutrino.neutron_names import AGENT_TYPE_DHCP
from neutrino.transport.client import AgentServerClient
from neutrino.transport.factory import make_agent_client
from neutrino.transport.http_client import HttpAgentClient

RABBIT_URL = os.environ.get("NEUTRINO_BENCH_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")


def state(host: str, start: bool = False) -> AgentState:
    return AgentState(agent_type=AGENT_TYPE_DHCP, binary="neutrino-dhcp-agent", host=host,
                      topic="dhcp_agent", start_flag=start,
                      configurations={"networks": 0, "subnets": 0, "ports": 0})


def reports_per_second(make: Callable[[], AgentServerClient], threads: int,
                       seconds: float) -> float:
    counts = [0] * threads
    clients = [make() for _ in range(threads)]
    for i, client in enumerate(clients):
        client.report_state(state(f"bench-{i}", start=True))
    deadline = time.monotonic() + seconds

    def run(i: int) -> None:
        while time.monotonic() < deadline:
            clients[i].report_state(state(f"bench-{i}"))
            counts[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for client in clients:
        client.close()
    return sum(counts) / seconds


def notification_latency(make: Callable[[], AgentServerClient], api_url: str,
                         rounds: int) -> list[float]:
    """Seconds from the start of a PUT on a network to the agent's client holding its event."""
    import httpx

    client = make()
    host = "bench-notify"
    after = client.wait_events(host, -1, 0).latest_revision
    token = _token(api_url)
    samples = []
    with httpx.Client(base_url=api_url, headers={"X-Auth-Token": token}) as api:
        net = api.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]["id"]
        after = _drain(client, host, after)
        for i in range(rounds):
            seen = threading.Event()

            def wait(start_after: int, seen: threading.Event) -> None:
                cursor = start_after
                while not seen.is_set():
                    batch = client.wait_events(host, cursor, 10)
                    cursor = max([cursor, batch.latest_revision,
                                  *(e.revision for e in batch.events)])
                    if any(e.event == "network.update" for e in batch.events):
                        seen.set()

            waiter = threading.Thread(target=wait, args=(after, seen))
            waiter.start()
            time.sleep(0.05)  # the waiter is blocked before the change is made
            began = time.perf_counter()
            api.put(f"/v2.0/networks/{net}", json={"network": {"name": f"n{i}"}})
            seen.wait(15)
            samples.append(time.perf_counter() - began)
            waiter.join(15)
            after = _drain(client, host, after)
    client.close()
    return samples


def _drain(client: AgentServerClient, host: str, after: int) -> int:
    batch = client.wait_events(host, after, 0)
    return max([after, batch.latest_revision, *(e.revision for e in batch.events)])


def _token(url: str) -> str:
    import httpx

    user, password, project = ADMIN
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    return httpx.post(url + "/v3/auth/tokens", json=body).headers["x-subject-token"]


def measure(transport: str, db: str, threads: int, seconds: float, rounds: int
            ) -> dict[str, float]:
    exchange = "neutrino_bench_" + uuid.uuid4().hex[:8]
    extra = (f"transport_url = {RABBIT_URL}\ncontrol_exchange = {exchange}"
             if transport == "rabbit" else "")
    with database(db) as db_url, server(db_url, extra) as srv:
        def make() -> AgentServerClient:
            if transport == "http":
                return HttpAgentClient(srv.url, *AGENT)
            return make_agent_client(RABBIT_URL, control_exchange=exchange)

        one = make()
        one.report_state(state("bench-serial", start=True))
        serial = timed(lambda: one.report_state(state("bench-serial")), 300)
        one.close()
        rate = reports_per_second(make, threads, seconds)
        latency = notification_latency(make, srv.url, rounds)
    if transport == "rabbit":
        from tests.support.broker import delete_topology

        delete_topology(RABBIT_URL, exchange)
    return {"report_p50": median_ms(serial), "report_p90": p(serial, 0.9), "rate": rate,
            "notify_p50": median_ms(latency), "notify_p90": p(latency, 0.9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    results = {t: measure(t, args.db, args.threads, args.seconds, args.rounds)
               for t in ("http", "rabbit")}
    rows = [("state report, one client, p50 (ms)", "report_p50", "{:.2f}"),
            ("state report, one client, p90 (ms)", "report_p90", "{:.2f}"),
            (f"state reports/s, {args.threads} clients", "rate", "{:.0f}"),
            ("API change -> agent event, p50 (ms)", "notify_p50", "{:.1f}"),
            ("API change -> agent event, p90 (ms)", "notify_p90", "{:.1f}")]
    print(f"database {args.db}; one server process per driver")
    print(f"{'':40}{'HTTP':>10}{'RabbitMQ':>10}")
    for label, key, fmt in rows:
        print(f"{label:40}{fmt.format(results['http'][key]):>10}"
              f"{fmt.format(results['rabbit'][key]):>10}")


if __name__ == "__main__":
    main()
