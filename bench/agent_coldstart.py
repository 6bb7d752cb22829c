"""Cold start of a DHCP agent hosting N networks, with real namespaces and dnsmasq.

    sudo .venv/bin/python bench/agent_coldstart.py 1000 [--threads 8] [--samples 20] \
        [--stacks v4 dual] [--tag nb]

`--stacks v4 dual` measures IPv4-only networks, then dual-stack ones (an IPv4 /24 and a
DHCPv6-stateful /64 each, every port with an address on both), one after the other in the
same run, and ends with a table of both side by side (dual / v4 ratios).

DNS is on, as it always is: every dnsmasq answers the network's names on its DHCP port
(internal DNS, docs/dns.md; with the default settings nothing is forwarded). Each sampled VM
checks it: busybox nslookup of its own host-<ip> names (A, and AAAA on dual stack) through
the DHCP port's IPv4 address.

Uses the in-memory fake server (tests/support/fake_server.py), so only agent-side costs count.
Prints: time until every network's dnsmasq is up and bound, port create -> dnsmasq knows the
MAC (p50/p95) with DHCP answers checked by udhcpc (and dhclient -6) in VM namespaces, agent
RSS and dnsmasq RSS, an adopting restart.
Everything it creates carries a random `<tag><4 hex>` prefix (`--tag`, default `nb`) and is
removed at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.fake_server

from bench.step_timer import StepTimer, ip_step
from neutrino.agent import dnsmasq
from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.ip_command import CommandError, IpCommand
from neutrino.agent.naming import bridge_name, tap_name
from neutrino.agent.settings import DhcpAgentSettings, ServerAccess
from neutrino.agent_protocol.messages import (
    AgentState,
    NetworkInfo,
    PortInfo,
    ReportResult,
    SubnetInfo,
)
from neutrino.dns_names import DEFAULT_DOMAIN, hostname_for
from tests.support.dhcpv6 import dhclient6
from tests.support.fake_server import FakeServer, make_network

UDHCPC_SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip"\nexit 0\n'
BUSYBOX = "/usr/bin/busybox"


@dataclass
class Figures:
    """What one stack's run measured (the closing table compares these)."""

    label: str
    networks: int
    running: int = 0
    cold_start_s: float = 0.0
    cpu_s: float = 0.0
    longest_beat_gap_s: float = 0.0
    reload_p50_ms: float = 0.0
    reload_p95_ms: float = 0.0
    samples: int = 0
    leased_v4: int = 0
    leased_v6: int | None = None  # None: no IPv6 on this stack
    resolved: int = 0  # sampled VMs whose every own name dnsmasq's DNS answered
    agent_rss_mib: float = 0.0
    dnsmasq_pss_kib: float = 0.0
    dnsmasq_pss_total_mib: float = 0.0
    restart_s: float = 0.0
    kept_pid: int = 0
    load_before: float = 0.0
    load_after: float = 0.0


def rss_kib(pid: int | str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def purge(prefix: str) -> None:
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        if name.startswith(prefix):
            subprocess.run(["ip", "netns", "delete", name], check=False)
    out = subprocess.run(["ip", "-o", "link", "show"], check=False, capture_output=True,
                         text=True).stdout
    names = [n for n in (line.split(": ")[1].split("@")[0] for line in out.splitlines())
             if prefix in n]
    try:
        IpCommand().delete_links(names)
    except CommandError as exc:
        print(f"cleanup: {exc}")


def _cpu_seconds() -> tuple[float, float]:
    """User+system CPU of this process and of its reaped children (ip, nsenter, dnsmasq's
    foreground half), so the cost is known even when other work shares the CPUs."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def dual_stack(network: NetworkInfo, index: int) -> NetworkInfo:
    """The network with a DHCPv6-stateful /64 beside its IPv4 subnet."""
    cidr = f"fd00:{100 + index // 256:x}:{index % 256:x}::/64"
    v6 = SubnetInfo(id=f"{network.id}-v6", network_id=network.id, cidr=cidr, ip_version=6,
                    gateway_ip=cidr.replace("::/64", "::1"),
                    ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
    return network.model_copy(update={"subnets": [*network.subnets, v6]})


def resolves(vm: str, port: PortInfo, server: str) -> bool:
    """busybox nslookup in the VM answers each of the port's host-<ip> names with its IP."""
    for fixed in port.fixed_ips:
        ip = fixed.ip_address
        name = f"{hostname_for(ip)}.{DEFAULT_DOMAIN}"
        kind = "-type=aaaa" if ":" in ip else "-type=a"
        proc = subprocess.run(["ip", "netns", "exec", vm, BUSYBOX, "nslookup", kind, name,
                               server], capture_output=True, text=True, timeout=30,
                              check=False)
        answers = proc.stdout.split("Name:", 1)[1] if "Name:" in proc.stdout else ""
        if ip not in re.findall(r"Address: ([0-9a-fA-F:.]+)\s*$", answers, re.M):
            print(f"  {vm}: {name} not answered by {server}: {proc.stdout}{proc.stderr}")
            return False
    return True


def profile(agent: DhcpAgent, networks: int) -> StepTimer:
    """Time each step of the agent's bring-up (wall clock, waits included)."""
    timer = StepTimer(agent.applied, buckets=5, total=networks)
    timer.wrap(agent.ip.runner, "run", ip_step)
    timer.wrap(agent.networks, "converge", "network: whole pass")
    timer.wrap(agent.networks, "_plug", "plug (root + namespace)")
    timer.wrap(agent.networks.interface.shared, "run", "root lines: shared batch + wait")
    timer.wrap(agent.networks, "_spawn", "dnsmasq spawn (+ leases file)")
    timer.wrap(agent.networks, "_write_files", "write hosts/opts files")
    timer.wrap(agent.networks, "_ensure_dhcp_port", "server: DHCP port")
    timer.wrap(agent.client, "get_network_info", "server: network info")
    return timer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("networks", type=int, nargs="?", default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--profile", action="store_true",
                        help="print per-step wall times by how many networks were up")
    parser.add_argument("--stacks", nargs="+", choices=("v4", "dual"), default=["v4"],
                        help="v4: IPv4-only networks; dual: IPv4 + DHCPv6-stateful each")
    parser.add_argument("--tag", default="nb",
                        help="two letters that begin every name made (then 4 random hex)")
    args = parser.parse_args()
    if not re.fullmatch(r"[a-z][a-z0-9]", args.tag):
        parser.error(f"--tag {args.tag!r}: want two lower-case letters or digits, a letter "
                     "first (names are <tag><4 hex>…)")
    logging.basicConfig(level=logging.WARNING)
    results = []
    for stack in args.stacks:
        label = "dual-stack (IPv4 + DHCPv6-stateful)" if stack == "dual" else "IPv4-only"
        print(f"=== {label} networks ===")
        results.append(run(args, dual=stack == "dual"))
    if len(results) > 1:
        print_table(results)
    return 0


def print_table(results: list[Figures]) -> None:
    """Each stack's figures in a column, the last column the ratio of the last to the first
    (one run, so both saw the same machine, give or take its load)."""
    rows: list[tuple[str, str, list[float | int | None]]] = [
        ("networks running", "d", [r.running for r in results]),
        ("cold start, s", ".1f", [r.cold_start_s for r in results]),
        ("cold start, ms/network", ".1f",
         [r.cold_start_s / r.networks * 1000 for r in results]),
        ("CPU (agent + ip + dnsmasq), s", ".1f", [r.cpu_s for r in results]),
        ("CPU, ms/network", ".1f", [r.cpu_s / r.networks * 1000 for r in results]),
        ("longest heartbeat gap, s", ".2f", [r.longest_beat_gap_s for r in results]),
        ("port create -> reload p50, ms", ".1f", [r.reload_p50_ms for r in results]),
        ("port create -> reload p95, ms", ".1f", [r.reload_p95_ms for r in results]),
        ("sampled VMs", "d", [r.samples for r in results]),
        ("  exact IPv4 lease (udhcpc)", "d", [r.leased_v4 for r in results]),
        ("  exact IPv6 lease (dhclient -6)", "d", [r.leased_v6 for r in results]),
        ("  own names resolved (DNS)", "d", [r.resolved for r in results]),
        ("agent RSS, MiB", ".1f", [r.agent_rss_mib for r in results]),
        ("dnsmasq PSS mean, KiB", ".0f", [r.dnsmasq_pss_kib for r in results]),
        ("dnsmasq PSS total, MiB", ".1f", [r.dnsmasq_pss_total_mib for r in results]),
        ("adopting restart, s", ".2f", [r.restart_s for r in results]),
        ("  dnsmasq kept their pid", "d", [r.kept_pid for r in results]),
        ("load average before / after", "", []),
    ]
    heads = [r.label for r in results] + [f"{results[-1].label} / {results[0].label}"]
    print(f"\n{'':34}" + "".join(f"{h:>16}" for h in heads))
    for name, spec, values in rows:
        if not values:
            cells = [f"{r.load_before:.1f} / {r.load_after:.1f}" for r in results] + [""]
        else:
            cells = ["-" if v is None else format(v, spec) for v in values]
            first, last = values[0], values[-1]
            ratio = f"{last / first:.2f}" if spec.startswith(".") and first and last else ""
            cells.append(ratio)
        print(f"{name:34}" + "".join(f"{c:>16}" for c in cells))


def run(args: argparse.Namespace, dual: bool) -> Figures:
    # Six characters: a network id's first 11 (its bridge's name) must differ per network.
    prefix = args.tag + secrets.token_hex(2)
    figures = Figures(label="dual" if dual else "v4", networks=args.networks,
                      leased_v6=0 if dual else None)
    state = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    state.chmod(0o755)  # dnsmasq rereads its files as nobody
    server = FakeServer()
    host = f"{prefix}-host"
    ids = [f"{prefix}n{i:04d}-c7d4-4f7a-b730-549af0fb6e34" for i in range(args.networks)]
    for i, net in enumerate(ids):
        network = make_network(net, f"10.{100 + i // 256}.{i % 256}.0/24")
        server.add_network(dual_stack(network, i) if dual else network, [host])
        server.add_port(net, f"{prefix}p{i:04d}-vm", host=host, all_subnets=True)
    settings = DhcpAgentSettings(
        host=host, state_path=str(state), debug=False, server=ServerAccess("http://x/", "u", "p"),
        report_interval=1, availability_zone="nova", interface_driver="linuxbridge",
        dhcp_driver="dnsmasq", dhcp_confs=str(state / "dhcp"), dhcp_lease_duration=86400,
        dnsmasq_dns_servers=[], num_sync_threads=args.threads, resync_interval=60,
        namespace_prefix=f"{prefix}-dhcp-", kill_dnsmasq_on_exit=False, dnsmasq_path="dnsmasq")
    agent = DhcpAgent(settings, server)
    timer = profile(agent, args.networks) if args.profile else None
    stop = threading.Event()
    vms: list[str] = []
    figures.load_before = os.getloadavg()[0]
    beats: list[float] = []
    report = server.report_state

    def timed_report(state: AgentState, timeout: float | None = None) -> ReportResult:
        beats.append(time.monotonic())
        return report(state, timeout)

    server.report_state = timed_report  # type: ignore[method-assign]
    try:
        began = time.monotonic()
        cpu_before = _cpu_seconds()
        thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        thread.start()
        while not agent.synced.wait(10):
            print(f"  {time.monotonic() - began:5.1f} s: {len(agent.applied)} networks up, "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
        synced = time.monotonic() - began
        own, kids = (after - before for after, before in zip(_cpu_seconds(), cpu_before,
                                                                strict=True))
        cpu = own + kids
        during = [b for b in beats if b <= began + synced]
        gaps = [b - a for a, b in zip(during, during[1:], strict=False)] or [0.0]
        pids = [dnsmasq.running_pid(ConfPaths.for_network(settings.dhcp_confs, n)) for n in ids]
        up = sum(p is not None for p in pids)
        figures.running, figures.cold_start_s, figures.cpu_s = up, synced, cpu
        figures.longest_beat_gap_s = max(gaps)
        print(f"networks: {args.networks}, sync threads: {args.threads}, cpus: {os.cpu_count()}")
        print(f"cold start until every dnsmasq is up and bound: {synced:.2f} s "
              f"({up}/{args.networks} running, {synced / args.networks * 1000:.1f} ms/network)")
        print(f"  CPU used by agent + ip + dnsmasq start-up: {cpu:.1f} s "
              f"({cpu / args.networks * 1000:.1f} ms/network; load average before start "
              f"{figures.load_before:.1f}: other work on this machine slows the wall clock)")
        print(f"  of which the agent process {own:.1f} s, child processes {kids:.1f} s")

        if timer is not None:
            print(timer.table())
        print(f"  heartbeats during cold start (report_interval 1 s): {len(during)}, "
              f"longest gap {max(gaps):.2f} s")

        sample_ports(agent, server, ids, min(args.samples, args.networks), state, prefix,
                     figures, vms)
        live = [p for p in pids if p is not None]
        rss = [rss_kib(p) for p in live]
        pss = [pss_kib(p) for p in live]
        figures.agent_rss_mib = rss_kib("self") / 1024
        print(f"agent RSS: {figures.agent_rss_mib:.1f} MiB")
        if live:
            figures.dnsmasq_pss_kib = statistics.mean(pss)
            figures.dnsmasq_pss_total_mib = sum(pss) / 1024
            print(f"dnsmasq RSS: mean {statistics.mean(rss):.0f} KiB, "
                  f"PSS mean {statistics.mean(pss):.0f} KiB (shared pages split), "
                  f"total PSS {sum(pss) / 1024:.1f} MiB")
        # Agent restart: the new agent adopts every running dnsmasq (no pid may change).
        stop.set()
        thread.join()
        agent = DhcpAgent(settings, server)
        stop = threading.Event()
        began = time.monotonic()
        thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        thread.start()
        agent.synced.wait()
        again = [dnsmasq.running_pid(ConfPaths.for_network(settings.dhcp_confs, n))
                 for n in ids]
        figures.restart_s = time.monotonic() - began
        figures.kept_pid = sum(a == b for a, b in zip(pids, again, strict=True))
        print(f"agent restart, adopting {args.networks} running dnsmasq: "
              f"{figures.restart_s:.2f} s, {figures.kept_pid} kept their pid")
    finally:
        stop.set()
        thread.join()  # a running agent would restart the dnsmasq cleanup stops
        began = time.monotonic()
        cleanup_dhcp(settings.dhcp_confs, settings.namespace_prefix)
        for vm in vms:
            subprocess.run(["ip", "netns", "delete", vm], check=False)
        purge(prefix)
        shutil.rmtree(state, ignore_errors=True)
        print(f"cleanup: {time.monotonic() - began:.1f} s")
        figures.load_after = os.getloadavg()[0]
    return figures



def sample_ports(agent: DhcpAgent, server: FakeServer, ids: list[str], samples: int,
                 state: Path, prefix: str, figures: Figures, vms: list[str]) -> None:
    """New ports on `samples` networks: create -> dnsmasq knows the MAC (files rewritten +
    SIGHUP), then a VM on each asks DHCP (and DHCPv6) and DNS. `vms` collects what to delete."""
    dual = figures.leased_v6 is not None
    script = state / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    delays: list[float] = []
    for k in range(samples):
        net = ids[k * len(ids) // samples]
        port_id = f"{prefix}s{k:04d}-new"
        mac = server.new_mac()
        vm = f"{prefix}-vm{k}"
        subprocess.run(["ip", "netns", "add", vm], check=True)
        vms.append(vm)
        subprocess.run(["ip", "link", "add", tap_name(port_id), "master", bridge_name(net),
                        "up", "type", "veth", "peer", "name", "eth0", "address", mac,
                        "netns", vm], check=True)
        subprocess.run(["ip", "-n", vm, "link", "set", "eth0", "up"], check=True)
        hosts = ConfPaths.for_network(agent.settings.dhcp_confs, net).hosts
        t0 = time.monotonic()
        port = server.add_port(net, port_id, mac=mac, host=agent.settings.host,
                               all_subnets=True)
        while mac not in Path(hosts).read_text():
            time.sleep(0.001)  # sampling the file; the agent gives no completion signal
        delays.append(time.monotonic() - t0)
        proc = subprocess.run(["ip", "netns", "exec", vm, "udhcpc", "-i", "eth0", "-n",
                               "-q", "-t", "5", "-T", "1", "-f", "-s", str(script)],
                              capture_output=True, text=True, check=False)
        ip = port.fixed_ips[0].ip_address
        leased = f"BOUND {ip}" in proc.stdout
        figures.leased_v4 += leased
        if figures.leased_v6 is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # its protocol log, for tests
                got6 = dhclient6(vm).addresses
            figures.leased_v6 += got6 == [port.fixed_ips[1].ip_address]
        dhcp_port = agent.applied[net].dhcp_port
        if leased and dhcp_port is not None:
            # The script configures nothing: give eth0 its lease to ask DNS from it.
            subprocess.run(["ip", "-n", vm, "addr", "add", f"{ip}/24", "dev", "eth0"],
                           check=True)
            figures.resolved += resolves(vm, port, dhcp_port.fixed_ips[0].ip_address)
    figures.samples = len(delays)
    if delays:
        figures.reload_p50_ms = statistics.median(delays) * 1000
        figures.reload_p95_ms = percentile(delays, 95) * 1000
        print(f"port create -> dnsmasq reloaded with the new MAC: "
              f"p50 {figures.reload_p50_ms:.1f} ms, p95 {figures.reload_p95_ms:.1f} ms "
              f"({len(delays)} samples; {figures.leased_v4} VMs then got their exact IP"
              + (f", {figures.leased_v6} their exact IPv6 from dhclient -6" if dual else "")
              + f"; {figures.resolved} resolved their own name"
              + ("s (A and AAAA)" if dual else "") + " through the DHCP port)")


if __name__ == "__main__":
    sys.exit(main())
