"""Fake Neutron agents for the side-by-side benchmark; runs in Neutron 29's own virtualenv.

Each host has a DHCP agent and an Open vSwitch agent (Neutron's DHCP scheduler takes only
DHCP agents whose host has an L2 agent reaching the network's physical network). Reports
travel as a real neutron-dhcp-agent's do: an oslo.messaging call of `report_state` on topic
`q-reports-plugin` (version 1.4), arguments `agent_state={"agent_state": ...}` and `time`.

  python neutron_agents.py CONF register N        # first reports (start_flag), all hosts
  python neutron_agents.py CONF heartbeat N        # every host every 30 s, until killed
  python neutron_agents.py CONF flood N SECONDS CALLERS START_AT   # prints {"calls": ...}

The flood's callers connect first, then all call from START_AT (epoch seconds) for SECONDS,
so that the caller measuring the servers' CPU time knows the window.
"""
from __future__ import annotations

import datetime
import json
import multiprocessing
import sys
import threading
import time
import uuid
from typing import Any

REPORT_INTERVAL = 30.0


def _client(conf: str) -> Any:
    import oslo_messaging
    from neutron_lib import rpc
    from oslo_config import cfg

    # Neutron's processes publish and consume on the "neutron" exchange, not the library's
    # default ("openstack"): a call sent there would wait for nobody until it timed out.
    oslo_messaging.set_transport_defaults(control_exchange="neutron")
    cfg.CONF(["--config-file", conf], project="neutron")
    rpc.init(cfg.CONF)
    target = oslo_messaging.Target(topic="q-reports-plugin", version="1.4")
    return rpc.get_client(target).prepare(timeout=60)


def _states(host: str, start: bool) -> list[dict[str, Any]]:
    dhcp = {"binary": "neutron-dhcp-agent", "host": host, "topic": "dhcp_agent",
            "agent_type": "DHCP agent", "availability_zone": "nova",
            "configurations": {"dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq",
                               "dhcp_lease_duration": 86400, "log_agent_heartbeats": False,
                               "networks": 0, "subnets": 0, "ports": 0}}
    ovs = {"binary": "neutron-openvswitch-agent", "host": host, "topic": "N/A",
           "agent_type": "Open vSwitch agent",
           "configurations": {"bridge_mappings": {"physnet1": "br-physnet1"},
                              "tunnel_types": [], "devices": 0}}
    for state in (dhcp, ovs):
        state["uuid"] = str(uuid.uuid4())
        if start:
            state["start_flag"] = True
    return [dhcp, ovs]


def _report(client: Any, context: Any, state: dict[str, Any]) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    client.call(context, "report_state", agent_state={"agent_state": state}, time=now)


def _admin() -> Any:
    from neutron_lib import context

    return context.get_admin_context()


def hosts(n: int) -> list[str]:
    return [f"fakehost-{i:05d}" for i in range(n)]


def register(conf: str, n: int, threads: int = 8) -> None:
    client, context = _client(conf), _admin()
    todo = [state for host in hosts(n) for state in _states(host, start=True)]

    failures: list[BaseException] = []

    def run(part: list[dict[str, Any]]) -> None:
        try:
            for state in part:
                _report(client, context, state)
        except Exception as exc:  # noqa: BLE001 - said below, and the run fails
            failures.append(exc)

    workers = [threading.Thread(target=run, args=(todo[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise SystemExit(f"{len(failures)} registering thread(s) failed: {failures[0]!r}")
    print(json.dumps({"registered": len(todo)}), flush=True)


def heartbeat(conf: str, n: int) -> None:
    """Every agent once per REPORT_INTERVAL, spread evenly, as a fleet's background load."""
    client, context = _client(conf), _admin()
    states = [state for host in hosts(n) for state in _states(host, start=False)]
    gap = REPORT_INTERVAL / max(1, len(states))
    next_at = time.monotonic()
    while True:
        for state in states:
            _report(client, context, state)
            next_at += gap
            time.sleep(max(0.0, next_at - time.monotonic()))


def _flood_one(conf: str, names: list[str], seconds: float, start_at: float, out: Any
               ) -> None:
    client, context = _client(conf), _admin()
    states = [_states(host, start=False)[0] for host in names]
    time.sleep(max(0.0, start_at - time.time()))
    done, deadline = 0, start_at + seconds
    while time.time() < deadline:
        _report(client, context, states[done % len(states)])
        done += 1
    out.put(done)


def flood(conf: str, n: int, seconds: float, callers: int, start_at: float) -> None:
    out: multiprocessing.Queue[int] = multiprocessing.Queue()
    names = hosts(n)
    procs = [multiprocessing.Process(target=_flood_one,
                                     args=(conf, names[i::callers], seconds, start_at, out))
             for i in range(callers)]
    for proc in procs:
        proc.start()
    calls = sum(out.get() for _ in procs)
    for proc in procs:
        proc.join()
    print(json.dumps({"calls": calls}), flush=True)


def main() -> None:
    conf, command, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if command == "register":
        register(conf, n)
    elif command == "heartbeat":
        heartbeat(conf, n)
    elif command == "flood":
        flood(conf, n, float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
