"""Port churn on one network: how soon a real DHCP client is served a new port's address.

    sudo .venv/bin/python bench/churn_bench.py [--rate 50] [--seconds 20] [--probes 4]

A real neutrino-server process (SQLite, HTTP agent transport), a real DHCP agent in this
process on the HTTP client, its real dnsmasq in a namespace. `--rate` port creates and as
many deletes per second go to the API on one network, on a fixed schedule (open loop). `--probes`
times a second one of the created ports belongs to a VM namespace on the network's bridge:
from the moment the API answered the create, a fresh busybox udhcpc is started in the VM
every LADDER seconds until one is leased the port's address (each sends one DISCOVER and
waits a second). "Created -> leased" is that lease's arrival: an upper bound of when
dnsmasq first knew the MAC, off by at most LADDER plus udhcpc's start. Prints p50/p99 of
it, the API's create latency, and how many dnsmasq reloads, restarts and starts the agent
made for how many port changes.
Everything it creates carries a random `nc<hex>` prefix and is removed at the end.
"""
from __future__ import annotations

import argparse
import itertools
import logging
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support

from neutrino.agent import metrics as agent_metrics
from neutrino.agent import namespaces
from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.ip_command import IpCommand
from neutrino.agent.naming import bridge_name
from neutrino.agent.settings import DhcpAgentSettings, ServerAccess
from neutrino.transport.http_client import HttpAgentClient
from tests.support.server import USERS
from tests.support.server_process import ReplicaClient, server_process
from tests.support.waiting import wait_until

UDHCPC = "/usr/sbin/udhcpc"
SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip"\nexit 0\n'
LADDER = 0.025  # a new udhcpc this often until one is leased
PROBE_DEADLINE = 5.0  # a probe not leased by then counts as failed
LIVE_PORTS = 100  # ports kept on the network while churning (deletes take the oldest)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def mac_for(index: int) -> str:
    return f"fa:16:3e:{index >> 16 & 0xFF:02x}:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


class Vm:
    """A namespace with eth0 on the network's bridge; its MAC becomes each probed port's."""

    def __init__(self, prefix: str, index: int, bridge: str, script: Path) -> None:
        self.namespace = f"{prefix}-vm{index}"
        self.host_end = f"{prefix}vm{index}"
        self.script = script
        ip = IpCommand()
        ip.batch([f"netns add {self.namespace}",
                  f"link add {self.host_end} master {bridge} up type veth peer name eth0 "
                  f"netns {self.namespace}"])
        ip.batch(["link set lo up", "link set eth0 up"], netns=self.namespace)

    def lease_time(self, mac: str, want_ip: str, since: float, hosts: Path
                   ) -> tuple[float | None, float | None]:
        """Seconds from `since` until the agent's hosts file named the MAC, and until a
        udhcpc got `want_ip`; None if not by the deadline."""
        IpCommand().ip("link", "set", "eth0", "address", mac, netns=self.namespace)
        running: list[subprocess.Popen[str]] = []
        leased: float | None = None
        written: float | None = None
        try:
            with namespaces.entered(self.namespace):
                while leased is None and time.monotonic() - since < PROBE_DEADLINE:
                    running.append(subprocess.Popen(
                        [UDHCPC, "-i", "eth0", "-n", "-q", "-f", "-t", "1", "-T", "1",
                         "-s", str(self.script)], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True))
                    next_start = time.monotonic() + LADDER
                    while leased is None and time.monotonic() < next_start:
                        if written is None and mac in hosts.read_text():
                            written = time.monotonic() - since
                        for proc in running:
                            if proc.poll() is not None and proc.stdout is not None:
                                if f"BOUND {want_ip}" in proc.stdout.read():
                                    leased = time.monotonic() - since
                        running = [p for p in running if p.returncode is None]
                        time.sleep(0.002)  # sampling the clients; udhcpc has no callback
        finally:
            for proc in running:
                proc.kill()
                proc.wait()
        return written, leased

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.namespace], check=False)


def dnsmasq_counts(agent: DhcpAgent) -> dict[str, float]:
    """The agent's own counters (its metrics) of dnsmasq reloads, restarts and starts."""
    registry = agent.metrics.registry
    restarts = sum(registry.get_sample_value("neutrino_dnsmasq_restarts_total",
                                             {"cause": cause}) or 0
                   for cause in agent_metrics.RESTART_CAUSES)
    return {"reload": registry.get_sample_value("neutrino_dnsmasq_reloads_total") or 0,
            "restart": restarts,
            "start": registry.get_sample_value("neutrino_dnsmasq_starts_total") or 0}


@contextmanager
def running_agent(settings: DhcpAgentSettings, url: str) -> Iterator[DhcpAgent]:
    name, password, project = USERS["agent"]
    client = HttpAgentClient(url, name, password, project)
    agent = DhcpAgent(settings, client)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        stop.set()
        thread.join(30)
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0,
                        help="port creates per second, and as many deletes")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probes", type=float, default=4.0,
                        help="probed ports per second (real udhcpc in a VM namespace)")
    parser.add_argument("--vms", type=int, default=4)
    parser.add_argument("--callers", type=int, default=8, help="API client threads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    prefix = "nc" + secrets.token_hex(2)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    tmp.chmod(0o755)  # dnsmasq rereads its files as nobody
    script = tmp / "udhcpc.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    settings = DhcpAgentSettings(
        host=f"{prefix}-host", state_path=str(tmp), debug=False,
        server=ServerAccess("http://x/", "u", "p"), report_interval=2,
        availability_zone="nova", interface_driver="linuxbridge", dhcp_driver="dnsmasq",
        dhcp_confs=str(tmp / "dhcp"), dhcp_lease_duration=86400, dnsmasq_dns_servers=[],
        num_sync_threads=4, resync_interval=60, namespace_prefix=f"{prefix}-dhcp-",
        kill_dnsmasq_on_exit=True, dnsmasq_path="dnsmasq")
    vms: list[Vm] = []
    net_id = ""
    try:
        (tmp / "server").mkdir()
        with server_process(tmp / "server", "api_workers = 2\n") as server:
            replica = ReplicaClient.logged_in(server)
            with running_agent(settings, server.url) as agent:
                wait_until(lambda: agent.synced.is_set() and agent.heartbeat.agent_id, 60,
                           message="the agent to register")
                net_id = churn(args, replica, agent, prefix, script, vms)
    finally:
        for vm in vms:
            vm.delete()
        cleanup_dhcp(settings.dhcp_confs, settings.namespace_prefix)
        if net_id:
            subprocess.run(["ip", "link", "delete", bridge_name(net_id)], check=False,
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def churn(args: argparse.Namespace, replica: ReplicaClient, agent: DhcpAgent, prefix: str,
          script: Path, vms: list[Vm]) -> str:
    """Run the churn; print the figures; returns the network's id (for the cleanup)."""
    admin = replica.client("admin")
    net = admin.post("/v2.0/networks", json={"network": {"name": f"{prefix}-churn"}})
    net_id = net.json()["network"]["id"]
    admin.post("/v2.0/subnets", json={"subnet": {
        "network_id": net_id, "cidr": "10.250.0.0/20", "ip_version": 4}}).raise_for_status()
    macs = itertools.count(secrets.randbelow(2**22) << 1)
    local = threading.local()

    def api() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = replica.client("admin")
        return local.client

    def create(mac: str) -> tuple[dict[str, object], float]:
        began = time.monotonic()
        answer = api().post("/v2.0/ports", json={"port": {
            "network_id": net_id, "mac_address": mac}})
        answer.raise_for_status()
        return answer.json()["port"], time.monotonic() - began

    live: list[str] = []
    for _ in range(LIVE_PORTS):
        live.append(str(create(mac_for(next(macs)))[0]["id"]))
    wait_until(lambda: net_id in agent.applied
               and len(agent.applied[net_id].network.ports) > LIVE_PORTS, 60,
               message="the agent to serve the network")
    bridge = bridge_name(net_id)
    vms.extend(Vm(prefix, k, bridge, script) for k in range(args.vms))
    idle_vms = list(vms)
    guard = threading.Lock()
    create_times: list[float] = []
    delete_times: list[float] = []
    leases: list[float] = []
    writes: list[float] = []
    hosts = Path(ConfPaths.for_network(agent.settings.dhcp_confs, net_id).hosts)
    failed: list[str] = []
    before = dnsmasq_counts(agent)

    def one_create(probe: bool) -> None:
        vm = None
        if probe:
            with guard:
                vm = idle_vms.pop() if idle_vms else None
        mac = mac_for(next(macs))
        port, took = create(mac)
        created = time.monotonic()
        with guard:
            create_times.append(took)
        if vm is None:
            with guard:
                live.append(str(port["id"]))
            return
        want = port["fixed_ips"][0]["ip_address"]  # type: ignore[index]
        written, leased = vm.lease_time(mac, want, created, hosts)
        with guard:
            (leases.append(leased) if leased is not None else failed.append(mac))
            if written is not None:
                writes.append(written)
            idle_vms.append(vm)
            live.append(str(port["id"]))

    def one_delete() -> None:
        with guard:
            port_id = live.pop(0) if len(live) > LIVE_PORTS // 2 else None
        if port_id is None:
            return
        began = time.monotonic()
        api().delete(f"/v2.0/ports/{port_id}").raise_for_status()
        with guard:
            delete_times.append(time.monotonic() - began)

    total = int(args.rate * args.seconds)
    probe_every = max(1, round(args.rate / args.probes)) if args.probes > 0 else 0
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    late = 0.0
    with ThreadPoolExecutor(args.callers + args.vms) as pool:
        futures = []
        for i in range(total):
            due = began + i / args.rate
            late = max(late, time.monotonic() - due)
            time.sleep(max(0.0, due - time.monotonic()))  # the open-loop schedule
            futures.append(pool.submit(one_create, probe_every > 0 and i % probe_every == 0))
            futures.append(pool.submit(one_delete))
        for future in futures:
            future.result()
    elapsed = time.monotonic() - began
    after = dnsmasq_counts(agent)
    changes = len(create_times) + len(delete_times)
    counts = {k: after[k] - before[k] for k in after}
    print(f"churn on one network: {len(create_times)} creates + {len(delete_times)} deletes "
          f"in {elapsed:.1f} s ({changes / elapsed:.0f} changes/s; asked {2 * args.rate:.0f}/s; "
          f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f})")
    print(f"  API create: p50 {statistics.median(create_times) * 1000:.1f} ms, "
          f"p99 {percentile(create_times, 99) * 1000:.1f} ms; delete p50 "
          f"{statistics.median(delete_times) * 1000:.1f} ms")
    if leases:
        print(f"  port created -> real udhcpc leased its address: "
              f"p50 {statistics.median(leases) * 1000:.0f} ms, "
              f"p99 {percentile(leases, 99) * 1000:.0f} ms, max {max(leases) * 1000:.0f} ms "
              f"({len(leases)} probes, {len(failed)} not leased within {PROBE_DEADLINE:.0f} s)")
    if writes:
        print(f"  port created -> the agent's hosts file has its MAC: "
              f"p50 {statistics.median(writes) * 1000:.0f} ms, "
              f"p99 {percentile(writes, 99) * 1000:.0f} ms")
    print(f"  dnsmasq: {counts['reload']:.0f} reloads (SIGHUP), {counts['restart']:.0f} "
          f"restarts, {counts['start']:.0f} starts for {changes} port changes "
          f"({changes / max(1, counts['reload']):.1f} changes per reload)")
    admin.close()
    return net_id


if __name__ == "__main__":
    sys.exit(main())
