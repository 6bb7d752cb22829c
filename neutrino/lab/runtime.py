"""Bring the lab up and down, and start or stop what runs on its hosts.

A lab directory holds lab.json (prefix, subnet, server), and per host its agents' config
files, pid files and logs. `down` also works from the prefix alone, after a crash."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from neutrino.agent import namespaces
from neutrino.lab import processes, wiring
from neutrino.lab.topology import (
    DEFAULT_PREFIX,
    DEFAULT_SUBNET,
    HOSTS,
    REPORT_INTERVAL,
    HostPlan,
    LabError,
    LabPlan,
    RabbitAccess,
    agent_configs,
    choose_subnet,
    plan_lab,
)

STATE_FILE = "lab.json"


@dataclass(frozen=True)
class AgentKind:
    name: str        # file stem: dhcp-agent, linuxbridge-agent
    module: str
    ini: str         # the agent's own file next to neutron.conf
    binary: str      # as the API shows it


DHCP = AgentKind("dhcp-agent", "neutrino.agent.dhcp_main", "dhcp_agent.ini",
                 "neutrino-dhcp-agent")
L2 = AgentKind("linuxbridge-agent", "neutrino.agent.linuxbridge_main",
               "linuxbridge_conf.ini", "neutrino-linuxbridge-agent")


@dataclass(frozen=True)
class LabState:
    prefix: str
    subnet: str
    server_url: str
    hosts: tuple[str, ...]

    @property
    def plan(self) -> LabPlan:
        return plan_lab(self.prefix, self.subnet, self.hosts)


def load(lab_dir: Path) -> LabState:
    try:
        raw = json.loads((lab_dir / STATE_FILE).read_text())
    except FileNotFoundError:
        raise LabError(f"No lab in {lab_dir}: run `neutrino-lab up` first (or pass "
                       "--lab-dir).") from None
    return LabState(raw["prefix"], raw["subnet"], raw["server_url"], tuple(raw["hosts"]))


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("The lab needs root: it creates network namespaces, bridges and veth "
                       "pairs and runs dnsmasq. Run it with sudo.")


def host_dir(lab_dir: Path, host: HostPlan) -> Path:
    return lab_dir / host.name


def _config_args(lab_dir: Path, host: HostPlan, kind: AgentKind) -> list[str]:
    conf_dir = host_dir(lab_dir, host)
    return ["--config-file", str(conf_dir / "neutron.conf"),
            "--config-file", str(conf_dir / kind.ini)]


def _marker(lab_dir: Path, host: HostPlan, kind: AgentKind) -> str:
    # The agent's own ini path is in its command line and nowhere else: pid-reuse proof.
    return str(host_dir(lab_dir, host) / kind.ini)


def pid_file(lab_dir: Path, host: HostPlan, kind: AgentKind) -> Path:
    return host_dir(lab_dir, host) / f"{kind.name}.pid"


def agent_pid(lab_dir: Path, host: HostPlan, kind: AgentKind) -> int | None:
    return processes.running(pid_file(lab_dir, host, kind), _marker(lab_dir, host, kind))


def start_agent(lab_dir: Path, host: HostPlan, kind: AgentKind) -> int:
    """Start one agent inside the host's namespace unless it already runs; its pid."""
    pid = agent_pid(lab_dir, host, kind)
    if pid is not None:
        return pid
    argv = [sys.executable, "-m", kind.module, *_config_args(lab_dir, host, kind)]
    return processes.start(host.namespace, argv, pid_file(lab_dir, host, kind),
                           host_dir(lab_dir, host) / f"{kind.name}.log")


def stop_agent(lab_dir: Path, host: HostPlan, kind: AgentKind,
               timeout: float = processes.STOP_TIMEOUT) -> bool:
    return processes.stop(pid_file(lab_dir, host, kind), _marker(lab_dir, host, kind),
                          timeout)


def cleanup_dhcp(lab_dir: Path, host: HostPlan) -> None:
    """The DHCP agent's own `cleanup`, run on the host: its dnsmasq, namespaces and taps."""
    if not namespaces.exists(host.namespace) or not (
            host_dir(lab_dir, host) / DHCP.ini).exists():
        return
    subprocess.run(["ip", "netns", "exec", host.namespace, sys.executable, "-m", DHCP.module,
                    *_config_args(lab_dir, host, DHCP), "cleanup"],
                   stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=120,
                   start_new_session=True)


def write_configs(lab_dir: Path, plan: LabPlan, host: HostPlan, server_url: str,
                  agent_user: str, agent_password: str,
                  rabbit: RabbitAccess | None = None, ca_file: str | None = None,
                  report_interval: int = REPORT_INTERVAL,
                  availability_zone: str | None = None) -> None:
    conf_dir = host_dir(lab_dir, host)
    (conf_dir / "state").mkdir(parents=True, exist_ok=True)
    # dnsmasq drops root for nobody and must still read its files below state/.
    conf_dir.chmod(0o755)
    (conf_dir / "state").chmod(0o755)
    for name, text in agent_configs(plan, host, server_url, agent_user, agent_password,
                                    str(conf_dir / "state"), rabbit, ca_file,
                                    report_interval, availability_zone).items():
        path = conf_dir / name
        path.write_text(text)
        path.chmod(0o600)  # neutron.conf carries the agent's password


def up(lab_dir: Path, server_url: str, agent_user: str, agent_password: str, *,
       prefix: str = DEFAULT_PREFIX, subnet: str = DEFAULT_SUBNET,
       rabbit: RabbitAccess | None = None, ca_file: str | None = None,
       report_interval: int = REPORT_INTERVAL, hosts: tuple[str, ...] = HOSTS,
       zones: Mapping[str, str] | None = None) -> None:
    """Build the switch and the hosts (HostA/HostB) and start their agents; leftovers with
    the same prefix (an earlier run that crashed) are removed first. With `rabbit`, the
    agents talk to the server through that broker (reached on the switch address) instead
    of HTTP; with an https:// server_url they verify it against `ca_file`.
    `report_interval`: the agents' heartbeat period (tests of liveness use 1 s). `zones`:
    host name -> the availability zone its agents report (others: nova)."""
    require_root()
    lab_dir = lab_dir.resolve()
    down(lab_dir, prefix=prefix)
    lab_dir.mkdir(parents=True, exist_ok=True)
    lab_dir.chmod(0o755)
    try:
        # From choosing the subnet until the switch holds its address: labs coming up side
        # by side (parallel tests, two operators) must not both pick the same free subnet.
        with wiring.subnet_lock():
            if subnet == "auto":
                subnet = choose_subnet(wiring.networks_in_use())
            state = LabState(prefix, subnet, server_url, tuple(hosts))
            plan = state.plan
            (lab_dir / STATE_FILE).write_text(json.dumps(asdict(state), indent=2) + "\n")
            wiring.make_switch(plan)
        for host in plan.hosts:
            wiring.make_host(plan, host)
            write_configs(lab_dir, plan, host, server_url, agent_user, agent_password, rabbit,
                          ca_file, report_interval, (zones or {}).get(host.name))
            start_agent(lab_dir, host, L2)
            start_agent(lab_dir, host, DHCP)
    except BaseException:
        down(lab_dir, prefix=prefix)
        raise


def down(lab_dir: Path, *, prefix: str | None = None) -> list[str]:
    """Remove everything of the lab: agents (pid files), dnsmasq (the agents' cleanup), then
    whatever still carries the prefix: processes in those namespaces, the namespaces, links.
    Returns what it removed, for the operator."""
    lab_dir = lab_dir.resolve()
    removed: list[str] = []
    try:
        state: LabState | None = load(lab_dir)
    except LabError:
        state = None
    if prefix is None:
        prefix = state.prefix if state else DEFAULT_PREFIX
    if state is not None and state.prefix == prefix:
        plan = state.plan
        pids = []
        for host in plan.hosts:
            for kind in (DHCP, L2):
                pid = agent_pid(lab_dir, host, kind)
                pid_file(lab_dir, host, kind).unlink(missing_ok=True)
                if pid is not None:
                    pids.append(pid)
                    removed.append(f"{kind.binary} on {host.name}")
        # All at once, and a teardown need not wait out an agent's long-poll.
        processes.terminate(pids, 3.0)
        # All hosts at once too: each cleanup is a Python start-up of the agent.
        with ThreadPoolExecutor(len(plan.hosts)) as pool:
            list(pool.map(lambda host: cleanup_dhcp(lab_dir, host), plan.hosts))
        (lab_dir / STATE_FILE).unlink(missing_ok=True)
    for namespace in namespaces.list_names(prefix):
        pids = processes.namespace_pids(namespace)
        if pids:
            processes.terminate(pids, 3.0)
            removed.append(f"{len(pids)} processes in {namespace}")
        wiring.delete_namespace(namespace)
        removed.append(f"namespace {namespace}")
    links = wiring.root_links(prefix)
    wiring.delete_links(links)
    removed += [f"link {name}" for name in links]
    for vm_file in (lab_dir / "vms").glob("*.json") if (lab_dir / "vms").is_dir() else []:
        vm_file.unlink()
    return removed


def host_down(lab_dir: Path, host_name: str) -> list[int]:
    """The host fails: every process on it killed at once and its cable cut."""
    require_root()
    plan = load(lab_dir).plan
    host = plan.host(host_name)
    pids = processes.namespace_pids(host.namespace)
    for namespace in namespaces.list_names(host.dhcp_prefix):
        pids += processes.namespace_pids(namespace)
    processes.kill_now(pids)
    for kind in (DHCP, L2):
        pid_file(lab_dir, host, kind).unlink(missing_ok=True)
    wiring.set_uplink(host, up=False)
    return pids


def host_up(lab_dir: Path, host_name: str) -> None:
    """The host comes back: cable in, agents started (they resync and adopt what is left)."""
    require_root()
    plan = load(lab_dir).plan
    host = plan.host(host_name)
    wiring.set_uplink(host, up=True)
    start_agent(lab_dir, host, L2)
    start_agent(lab_dir, host, DHCP)
