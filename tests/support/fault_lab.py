"""A whole deployment for control-plane fault tests, built as an operator would: real
neutrino-server replica processes, the lab's HostA and HostB with their real DHCP and Linux
bridge agent processes and dnsmasq, VMs (namespaces) asking with udhcpc in loops.

It answers what the fault checks ask (bindings, agents, processes, dnsmasq files, logs) and
puts the deployment back into its known shape between faults (`heal`)."""
from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neutrino.agent import dnsmasq, namespaces
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.naming import bridge_name, dhcp_device_id, tap_name
from neutrino.agent.releases import Lease, parse_leases_file
from neutrino.cli.api import NeutronClient
from neutrino.cli.main import main as neutrino_cli
from neutrino.lab import runtime, vms, wiring
from neutrino.lab.topology import HostPlan, LabPlan
from neutrino.lab.vms import Vm
from tests.support.admin_api import admin_client, login
from tests.support.databases import fresh_database
from tests.support.dhcp_loops import (
    Answer,
    DhcpLoop,
    ask_once,
    describe,
    failed_requests,
    write_script,
)
from tests.support.lab_env import (
    agent_transport,
    bootstrap_identities,
    free_port,
    require_root_and_tools,
)
from tests.support.outages import require_outage_tools
from tests.support.server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USER
from tests.support.server_process import ServerProcess, server_conf
from tests.support.waiting import wait_until

HOSTS = ("HostA", "HostB")
AGENT_KINDS = {"DHCP agent": runtime.DHCP, "Linux bridge agent": runtime.L2}
NOISE = "httpx: HTTP Request"
AgentKey = tuple[str, str]  # (agent_type, host)
Bindings = dict[str, tuple[str, ...]]  # network name -> hosts of its DHCP agents


@dataclass(frozen=True)
class Stack:
    """Which database and agent transport, how many replicas."""

    name: str
    database: str  # sqlite | mariadb
    transport: str  # http | rabbit
    replicas: int = 1
    agent_down_time: int = 5
    report_interval: int = 1
    hosts: tuple[str, ...] = HOSTS  # the lab's hosts (a third one: tests of rebalance)
    extra: str = ""  # more [DEFAULT] lines for the servers


@dataclass
class FaultLab:
    stack: Stack
    tmp: Path
    prefix: str
    servers: list[ServerProcess]
    token: str = ""
    networks: dict[str, str] = field(default_factory=dict)  # name -> id
    layout: Bindings = field(default_factory=dict)  # what every fault must leave unchanged
    loops: dict[str, DhcpLoop] = field(default_factory=dict)
    vms: dict[str, Vm] = field(default_factory=dict)
    dirty: bool = False  # a fault failed: restart everything before the next one
    _script: Path | None = None

    # ---- what an operator does and sees ----------------------------------------------

    def cli(self, *argv: str) -> tuple[int, str, str]:
        """`neutrino ARGV` as admin against the first server: exit code, stdout, stderr."""
        out, err = io.StringIO(), io.StringIO()
        code = neutrino_cli(["--os-auth-url", f"{self.servers[0].url}/v2.0", "--os-username",
                             "admin", "--os-password", ADMIN_PASSWORD, "--os-tenant-name",
                             "admin", *argv], stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def fresh_leases(self, since: float) -> bool:
        """Every VM's loop has had an answer with an address since `since`."""
        return all(any(a.ip and a.started > since for a in loop.answers())
                   for loop in self.loops.values())

    def asked_since(self, since: float, times: int) -> bool:
        """Every VM's loop has asked at least `times` times since `since` (answered or
        not): an operation that ends quickly is still seen through several requests."""
        return all(len([a for a in loop.answers() if a.started >= since]) >= times
                   for loop in self.loops.values())

    def assert_no_request_failed(self, since: float) -> None:
        """Once every VM has asked three times since `since`, none of those requests
        failed (the operation began at `since`)."""
        wait_until(lambda: self.asked_since(since, 3), 30, 0.2,
                   "three requests from every VM since the operation began")
        end = time.monotonic()
        answers = [a for loop in self.loops.values() for a in loop.answers()]
        failed = failed_requests(answers, since, end)
        assert failed == [], describe(sorted(answers, key=lambda a: a.started), since)

    # ---- where things are -------------------------------------------------------------

    @property
    def lab_dir(self) -> Path:
        return self.tmp / "lab"

    @property
    def plan(self) -> LabPlan:
        return runtime.load(self.lab_dir).plan

    def host(self, name: str) -> HostPlan:
        return self.plan.host(name)

    def conf_paths(self, host: str, network: str) -> ConfPaths:
        confs = runtime.host_dir(self.lab_dir, self.host(host)) / "state" / "dhcp"
        return ConfPaths.for_network(str(confs), self.networks[network])

    def live_urls(self) -> list[str]:
        return [s.url for s in self.servers if s.alive()] or [s.url for s in self.servers]

    @property
    def api(self) -> NeutronClient:
        return admin_client(self.live_urls, self.token)

    def log_files(self) -> list[Path]:
        return sorted({s.log for s in self.servers} | set(self.lab_dir.glob("Host*/*.log")))

    def tail_logs(self, lines: int = 40) -> None:
        for log in self.log_files():
            # Every request of the agents' HTTP client is logged: noise beside the events.
            text = [line for line in log.read_text(errors="replace").splitlines()
                    if NOISE not in line][-lines:]
            print(f"--- tail of {log} (without {NOISE!r} lines) ---\n" + "\n".join(text))

    # ---- what the API says ------------------------------------------------------------

    def agents(self) -> dict[AgentKey, dict[str, Any]]:
        return {(a["agent_type"], a["host"]): a for a in self.api.list_resources("agents")}

    def bindings(self) -> Bindings:
        return {name: tuple(sorted(a["host"] for a in
                                   self.api.list_dhcp_agents_hosting_network(net_id)))
                for name, net_id in self.networks.items()}

    def all_agents_alive(self) -> bool:
        agents = self.agents()
        wanted = {(kind, host) for kind in AGENT_KINDS for host in self.stack.hosts}
        return set(agents) >= wanted and all(agents[k]["alive"] for k in wanted)

    # ---- processes ----------------------------------------------------------------------

    def agent_pids(self) -> dict[AgentKey, int | None]:
        return {(kind_name, host.name): runtime.agent_pid(self.lab_dir, host, kind)
                for kind_name, kind in AGENT_KINDS.items() for host in self.plan.hosts}

    def dhcp_agent_pid(self, host: str) -> int:
        pid = runtime.agent_pid(self.lab_dir, self.host(host), runtime.DHCP)
        assert pid is not None, f"the DHCP agent on {host} is not running"
        return pid

    def dnsmasq_pids(self, bindings: Bindings) -> dict[tuple[str, str], int | None]:
        return {(host, name): dnsmasq.running_pid(self.conf_paths(host, name))
                for name, hosts in bindings.items() for host in hosts}

    # ---- one network's DHCP servers -------------------------------------------------------

    def leases(self, host: str, network: str) -> set[Lease]:
        """The (IP, MAC) pairs of the network's dnsmasq leases file on `host`."""
        return parse_leases_file(read(self.conf_paths(host, network).leases))

    def dhcp_server_ips(self, network: str) -> dict[str, str]:
        """host -> address of its DHCP port on the network: what udhcpc reports as the
        answering server's identifier."""
        net_id = self.networks[network]
        ports = {p["device_id"]: p for p in self.api.list_resources(
            "ports", network_id=net_id, device_owner="network:dhcp")}
        found = {}
        for host in self.layout[network]:
            port = ports.get(dhcp_device_id(host, net_id))
            if port and port.get("fixed_ips"):
                found[host] = port["fixed_ips"][0]["ip_address"]
        return found

    def ask_each_agent(self, vm: Vm, tries: int = 1) -> dict[str, Answer]:
        """host -> one request of the VM answered by that host's dnsmasq alone: every other
        hosting dnsmasq of the network is stopped (SIGSTOP) meanwhile, and always continued,
        so that each agent is seen to serve the VM on its own."""
        hosts = self.layout[vm.network]
        answers = {}
        for host in hosts:
            others = [pid for (other, _), pid in self.dnsmasq_pids({vm.network: hosts}).items()
                      if other != host and pid is not None]
            with paused(*others):
                answers[host] = ask_once(vm, self.script, tries)
        return answers

    # ---- building ---------------------------------------------------------------------

    def create_network(self, name: str, cidr: str, hosts: tuple[str, ...],
                       pool: tuple[str, str] | None = None) -> str:
        """A network with a DHCP subnet, hosted by exactly the DHCP agents of `hosts`;
        `pool`: the subnet's one allocation pool (first, last), else the whole subnet."""
        net = self.api.create("network", {"name": name})
        self.networks[name] = net["id"]
        # Scheduled straight onto a wanted agent: removing it from another one would free
        # that agent's DHCP port address for the next VM port (see issue 14, address reuse).
        others = [a["id"] for (kind, host), a in self.agents().items()
                  if kind == "DHCP agent" and host not in hosts]
        for agent_id in others:
            self.api.update("agent", agent_id, {"admin_state_up": False})
        subnet: dict[str, Any] = {"network_id": net["id"], "cidr": cidr, "ip_version": 4,
                                  "name": f"{name}-subnet"}
        if pool is not None:
            subnet["allocation_pools"] = [{"start": pool[0], "end": pool[1]}]
        try:
            self.api.create("subnet", subnet)
        finally:
            for agent_id in others:
                self.api.update("agent", agent_id, {"admin_state_up": True})
        self.layout[name] = tuple(sorted(hosts))
        self.restore_bindings()
        return str(net["id"])

    def restore_bindings(self) -> list[str]:
        """Put every network back on the agents of the layout; what it had to change."""
        agents = self.agents()
        changed = []
        current = self.bindings()
        for name, hosts in self.layout.items():
            net_id = self.networks[name]
            for host in set(hosts) - set(current[name]):
                self.api.add_network_to_dhcp_agent(agents[("DHCP agent", host)]["id"], net_id)
                changed.append(f"{name} added to {host}")
            for host in set(current[name]) - set(hosts):
                self.api.remove_network_from_dhcp_agent(agents[("DHCP agent", host)]["id"],
                                                        net_id)
                changed.append(f"{name} removed from {host}")
                # The removed agent's DHCP port freed its address; without address
                # quarantine the next VM port would get it while the remaining dnsmasq
                # still holds a lease for the old MAC (issue 14). A port of no VM takes it,
                # so that the next fault is judged on its own.
                self.api.create("port", {"network_id": net_id, "name": "takes-freed-address"})
        return changed

    def boot(self, network: str, host: str, name: str, fixed_ip: str | None = None) -> Vm:
        vm = vms.boot(self.api, self.lab_dir, network, host, name, fixed_ip)
        self.vms[name] = vm
        return vm

    def plugged(self, vm: Vm) -> bool:
        """The VM's tap is in its network's bridge on its host (its L2 agent plugged it)."""
        return (wiring.link_master(tap_name(vm.port_id), self.host(vm.host).namespace)
                == bridge_name(vm.network_id))

    @property
    def script(self) -> Path:
        if self._script is None:
            self._script = write_script(self.tmp)
        return self._script

    def ask_in_loop(self, vm: Vm) -> DhcpLoop:
        """The VM asks from now until the lab goes; its requests count in every fault."""
        loop = DhcpLoop(vm, self.script).start()
        self.loops[vm.name] = loop
        return loop

    def served_everywhere(self, vm: Vm) -> bool:
        """Every DHCP agent hosting the VM's network has its MAC in its dnsmasq hosts file."""
        return all(vm.mac in read(self.conf_paths(host, vm.network).hosts)
                   for host in self.layout[vm.network])

    def handing_over(self) -> list[tuple[str, str]]:
        """(host, network) pairs outside the layout whose dnsmasq still runs: an agent that
        lost the network hands it over, its offers delayed, for dhcp_handover_grace
        (docs/operations.md, "Handing a network over")."""
        return [(host.name, name) for name in self.layout for host in self.plan.hosts
                if host.name not in self.layout[name]
                and dnsmasq.running_pid(self.conf_paths(host.name, name)) is not None]

    def wait_stable(self, timeout: float = 40.0) -> None:
        """Agents alive, every dnsmasq of the layout running and no other (handovers over:
        a fault's timings must not meet a dnsmasq delaying its offers), every looping VM
        leased."""
        wait_until(self.all_agents_alive, timeout, 0.2, "every agent alive")
        wait_until(lambda: all(self.dnsmasq_pids(self.layout).values()), timeout, 0.2,
                   f"a dnsmasq for every binding of {self.layout}")
        wait_until(lambda: not self.handing_over(), timeout, 0.2,
                   "the handovers of networks moved back to end")
        since = time.monotonic()
        wait_until(lambda: all(loop.answers() and loop.answers()[-1].ip
                               and loop.answers()[-1].started > since
                               for loop in self.loops.values() if loop.port_gone_at is None),
                   timeout, 0.2, "a fresh lease for every VM asking")

    # ---- between faults -----------------------------------------------------------------

    def heal(self) -> list[str]:
        """Bring back whatever an earlier fault left dead or moved; what it had to do."""
        done = []
        for server in self.servers:
            if self.dirty and server.alive():
                server.stop()
                done.append(f"{server.name} restarted (the last fault failed)")
            if not server.alive():
                server.start()
                done.append(f"{server.name} started")
        for server in self.servers:
            server.wait_answering()
        for host in self.plan.hosts:
            for kind in (runtime.L2, runtime.DHCP):
                if self.dirty:
                    runtime.stop_agent(self.lab_dir, host, kind, timeout=5)
                if runtime.agent_pid(self.lab_dir, host, kind) is None:
                    runtime.start_agent(self.lab_dir, host, kind)
                    done.append(f"{kind.binary} on {host.name} started")
        for _attempt in range(3):
            # A (re)started server may still move networks until it has heard every agent:
            # restore, wait until all is settled, and check that the restore held.
            wait_until(self.all_agents_alive, 40, 0.2, "every agent alive")
            changed = self.restore_bindings()
            done += changed
            self.wait_stable()
            if not changed and self.bindings() == self.layout:
                break
        assert self.bindings() == self.layout, f"cannot restore the layout {self.layout}"
        self.dirty = False
        return done


@contextlib.contextmanager
def paused(*pids: int) -> Iterator[None]:
    """The processes are stopped (SIGSTOP) inside the block and continued however it ends."""
    stopped = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass  # it died meanwhile: the process checks report that


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


@contextlib.contextmanager
def running_stack(stack: Stack) -> Iterator[FaultLab]:
    """The deployment of `stack`, up and registered; everything of it removed afterwards."""
    require_root_and_tools(what="the control-plane fault tests")
    if stack.database != "sqlite" or stack.transport != "http":
        require_outage_tools()
    prefix = f"nf{secrets.token_hex(2)[:3]}-"
    # Not pytest's tmp_path (mode 0700): dnsmasq drops root and must read its files.
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{stack.name}-"))
    tmp.chmod(0o755)
    with contextlib.ExitStack() as exits:
        transport_conf, rabbit = exits.enter_context(agent_transport(stack.transport))
        db_url = (f"sqlite:///{tmp}/neutrino.db" if stack.database == "sqlite"
                  else exits.enter_context(fresh_database(stack.database, str(tmp))))
        servers = []
        for index in range(stack.replicas):
            port = free_port()
            conf = tmp / f"server-{index + 1}.conf"
            conf.write_text(server_conf(port=port, state_path=tmp, db_url=db_url,
                                        agent_down_time=stack.agent_down_time,
                                        dhcp_agents_per_network=1,
                                        extra=transport_conf + stack.extra))
            servers.append(ServerProcess(f"server-{index + 1}", conf, port,
                                         tmp / f"server-{index + 1}.log"))
        lab = FaultLab(stack, tmp, prefix, servers)
        exits.callback(_teardown, lab)
        try:
            bootstrap_identities(servers[0].conf)
            for server in servers:
                server.start()
            for server in servers:
                server.wait_answering()
            lab.token = login(servers[0].url, "admin", ADMIN_PASSWORD, "admin")
            runtime.up(lab.lab_dir, servers[0].url, AGENT_USER, AGENT_PASSWORD, prefix=prefix,
                       rabbit=rabbit, report_interval=stack.report_interval,
                       hosts=stack.hosts)
            wait_until(lab.all_agents_alive, 40, 0.2, "every agent alive")
        except BaseException:
            lab.tail_logs()
            raise
        yield lab


def _teardown(lab: FaultLab) -> None:
    for loop in lab.loops.values():
        loop.stop()
    try:
        runtime.down(lab.lab_dir, prefix=lab.prefix)
    finally:
        for server in lab.servers:
            server.stop()
    left = namespaces.list_names(lab.prefix) + wiring.root_links(lab.prefix)
    shutil.rmtree(lab.tmp, ignore_errors=True)
    assert not left, f"the fault lab left {left} behind"

