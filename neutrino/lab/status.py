"""`neutrino-lab status`: what runs where, and how the server sees the agents."""
from __future__ import annotations

from pathlib import Path

from prettytable import PrettyTable

from neutrino.agent import namespaces
from neutrino.agent.pids import read_pid
from neutrino.cli.api import CliError, NeutronClient
from neutrino.lab import processes, runtime, wiring
from neutrino.lab.topology import LabError


def _dnsmasq_count(prefix: str) -> int:
    count = 0
    for namespace in namespaces.list_names(prefix):
        count += sum(1 for pid in processes.namespace_pids(namespace)
                     if processes.alive(pid, "dnsmasq"))
    return count


def report(lab_dir: Path, client: NeutronClient | None) -> str:
    """A few lines per host, then the server's agent list (if a client is given)."""
    try:
        state = runtime.load(lab_dir)
    except LabError as exc:
        leftovers = namespaces.list_names("nlab-")
        return str(exc) + (f" Leftover namespaces: {', '.join(leftovers)}." if leftovers
                           else "")
    plan = state.plan
    switch = "up" if wiring.link_exists(plan.switch) else "MISSING"
    lines = [f"Lab in {lab_dir}: prefix {plan.prefix}, server {state.server_url}, "
             f"switch {plan.switch} {plan.switch_ip}/{plan.prefixlen} {switch}"]
    for host in plan.hosts:
        present = namespaces.exists(host.namespace)
        lines.append(f"{host.name}: namespace {host.namespace} "
                     f"{'present' if present else 'MISSING'}, eth0 {host.ip}")
        for kind in (runtime.L2, runtime.DHCP):
            pid = read_pid(runtime.pid_file(lab_dir, host, kind))
            alive = runtime.agent_pid(lab_dir, host, kind) is not None
            lines.append(f"  {kind.binary:28} pid {pid or '-':>7}  "
                         f"{'alive' if alive else 'not running'}")
        lines.append(f"  {'dnsmasq':28} {_dnsmasq_count(host.dhcp_prefix)} running")
    vm_dir = lab_dir / "vms"
    names = sorted(p.stem for p in vm_dir.glob("*.json")) if vm_dir.is_dir() else []
    lines.append(f"VMs: {', '.join(names) or 'none'}")
    if client is None:
        lines.append("Agent health: set OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and "
                     "OS_TENANT_NAME (admin) to see the server's view.")
        return "\n".join(lines)
    try:
        agents = client.list_resources("agents")
    except CliError as exc:
        lines.append(f"Agent health: the server did not answer: {exc}")
        return "\n".join(lines)
    table = PrettyTable(["id", "agent_type", "host", "alive", "admin_state_up"])
    table.align = "l"
    for agent in sorted(agents, key=lambda a: (a["host"], a["agent_type"])):
        table.add_row([agent["id"], agent["agent_type"], agent["host"],
                       ":-)" if agent.get("alive") else "xxx", agent["admin_state_up"]])
    lines.append(str(table))
    return "\n".join(lines)
