"""The seed's walk-through, end to end: a real neutrino-server process, the lab's HostA and
HostB (namespaces) each running the real Linux bridge and DHCP agent binaries, real dnsmasq,
and VMs (namespaces) running udhcpc. Controller steps go through the `neutrino` CLI."""
from __future__ import annotations

import contextlib
import io
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from neutrino.agent import namespaces
from neutrino.agent.naming import tap_name
from neutrino.cli.main import main as neutrino_cli
from neutrino.lab import processes, runtime, vms, wiring
from neutrino.lab.main import main as lab_cli
from neutrino.lab.topology import RabbitAccess
from tests.support.lab_env import (
    agent_transport,
    bootstrap_identities,
    free_port,
    require_root_and_tools,
)
from tests.support.server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USER
from tests.support.waiting import SERVER_START_S, wait_until

pytestmark = pytest.mark.root

@dataclass
class Seed:
    """The running system and the two command lines an operator would use on it."""

    url: str
    lab_dir: Path
    tmp: Path

    @property
    def auth(self) -> list[str]:
        return ["--os-auth-url", f"{self.url}/v2.0/", "--os-username", "admin",
                "--os-password", ADMIN_PASSWORD, "--os-tenant-name", "admin"]

    def neutron(self, *argv: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        code = neutrino_cli([*self.auth, *argv], stdout=out, stderr=err)
        assert code == 0, f"neutrino {' '.join(argv)}: {err.getvalue()}{out.getvalue()}"
        return out.getvalue()

    def table(self, *argv: str) -> tuple[list[str], list[dict[str, str]]]:
        """Run a list command and parse its table: (columns, rows)."""
        lines = [line for line in self.neutron(*argv).splitlines() if line.startswith("|")]
        if not lines:
            return [], []  # cliff prints nothing at all for an empty list
        split = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
        columns = split[0]
        return columns, [dict(zip(columns, row, strict=True)) for row in split[1:]]

    def lab(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = lab_cli(["--lab-dir", str(self.lab_dir), *argv])
        return code, out.getvalue()

    def boot(self, net: str, host: str, name: str) -> None:
        code, out = self.lab("vm", "boot", *self.auth, "--net", net, "--host", host, name)
        assert code == 0 and "not plugged" not in out, out

    def dhcp(self, name: str, timeout: int = 3) -> str | None:
        code, out = self.lab("vm", "dhcp", name, "--timeout", str(timeout))
        return out.split()[2] if code == 0 else None

    def agents(self) -> dict[tuple[str, str], dict[str, str]]:
        columns, rows = self.table("agent-list")
        assert columns in ([], ["id", "agent_type", "host", "availability_zone", "alive",
                                "admin_state_up"])
        return {(r["agent_type"], r["host"]): r for r in rows}

    def hosting(self, net: str) -> list[str]:
        columns, rows = self.table("dhcp-agent-list-hosting-net", net)
        assert columns == ["id", "host", "admin_state_up", "alive"]
        return sorted(r["host"] for r in rows)

    def dnsmasq_serving(self, host: str, network: str) -> bool:
        plan = runtime.load(self.lab_dir).plan
        net_id = self.neutron("net-show", network, "-f", "value", "-c", "id").strip()
        namespace = plan.host(host).dhcp_namespace(net_id)
        return namespaces.exists(namespace) and any(
            processes.alive(pid, "dnsmasq") for pid in processes.namespace_pids(namespace))

    def tail_logs(self) -> None:
        for log in sorted(self.tmp.rglob("*.log")):
            print(f"--- {log} ---\n" + "\n".join(log.read_text().splitlines()[-30:]))


def start_server(tmp: Path, extra_conf: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    conf = tmp / "neutron.conf"
    # 0.0.0.0: the lab's hosts reach the server on the switch address, not our loopback.
    conf.write_text(
        f"[DEFAULT]\nhost = controlnode\nbind_host = 0.0.0.0\nbind_port = {port}\n"
        f"state_path = {tmp}\nagent_down_time = 5\nallow_overlapping_ips = True\n{extra_conf}"
        f"[database]\nconnection = sqlite:///{tmp}/neutrino.db\n"
        "[ml2]\ntenant_network_types = vxlan\n[ml2_type_vxlan]\nvni_ranges = 1000:2999\n")
    bootstrap_identities(conf)
    with (tmp / "server.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "neutrino.server", "--config-file",
                                 str(conf)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert proc.poll() is None, (tmp / "server.log").read_text()[-2000:]
        try:
            return httpx.get(url + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(answers, SERVER_START_S, message="neutrino-server to answer")
    return url, proc


@contextlib.contextmanager
def running_seed(extra_conf: str = "", transport: str = "http") -> Iterator[Seed]:
    require_root_and_tools()
    with agent_transport(transport) as (transport_conf, rabbit), \
            _running_seed(transport_conf + extra_conf, rabbit) as seed:
        yield seed


@contextlib.contextmanager
def _running_seed(extra_conf: str, rabbit: RabbitAccess | None) -> Iterator[Seed]:
    prefix = f"nl{secrets.token_hex(2)[:3]}-"
    # Not pytest's tmp_path (mode 0700): dnsmasq drops root and must read its files.
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}seed-"))
    tmp.chmod(0o755)
    seed = Seed(url="", lab_dir=tmp / "lab", tmp=tmp)
    server: subprocess.Popen[bytes] | None = None
    try:
        seed.url, server = start_server(tmp, extra_conf)
        runtime.up(seed.lab_dir, seed.url, AGENT_USER, AGENT_PASSWORD, prefix=prefix,
                   rabbit=rabbit)
        yield seed
    except BaseException:
        seed.tail_logs()
        raise
    finally:
        runtime.down(seed.lab_dir, prefix=prefix)
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        left = namespaces.list_names(prefix) + wiring.root_links(prefix)
        shutil.rmtree(tmp, ignore_errors=True)
        assert not left, f"the lab left {left} behind"


def four_agents_alive(seed: Seed) -> dict[tuple[str, str], dict[str, str]] | None:
    agents = seed.agents()
    wanted = {(kind, host) for kind in ("Linux bridge agent", "DHCP agent")
              for host in ("HostA", "HostB")}
    if set(agents) == wanted and all(a["alive"] == ":-)" for a in agents.values()):
        return agents
    return None


@pytest.mark.parametrize("transport", ["http", "rabbit"])
def test_seed_walkthrough_ha_dhcp(transport: str) -> None:
    with running_seed(transport=transport) as seed:
        columns, rows = seed.table("ext-list", "-c", "name", "-c", "alias")
        assert columns == ["alias", "name"]  # the seed prints alias first, too
        assert {"agent", "agent_scheduler", "binding", "provider"} <= {r["alias"] for r in rows}

        agents = wait_until(lambda: four_agents_alive(seed), 30, message="four live agents")
        assert isinstance(agents, dict)
        dhcp_a = agents[("DHCP agent", "HostA")]["id"]
        dhcp_b = agents[("DHCP agent", "HostB")]["id"]
        assert all(a["admin_state_up"] == "True" for a in agents.values())

        # Settings: net1 with three VMs.
        seed.neutron("net-create", "net1")
        seed.neutron("subnet-create", "net1", "10.0.1.0/24", "--name", "subnet1")
        for name, host in (("myserver1", "HostA"), ("myserver2", "HostB"),
                           ("myserver3", "HostA")):
            seed.boot("net1", host, name)
        columns, rows = seed.table("net-list")
        assert columns == ["id", "name", "subnets"]
        code, out = seed.lab("vm", "list", *seed.auth)
        assert code == 0
        vm_rows = [[c.strip() for c in line.strip("|").split("|")]
                   for line in out.splitlines() if line.startswith("|")]
        assert vm_rows[0] == ["ID", "Name", "Status", "Networks"]
        assert [(r[1], r[2], r[3][:12]) for r in vm_rows[1:]] == [
            (f"myserver{i}", "ACTIVE", "net1=10.0.1.") for i in (1, 2, 3)]

        # Default scheduling: net2 lands on exactly one DHCP agent.
        seed.neutron("net-create", "net2")
        seed.neutron("subnet-create", "net2", "9.0.1.0/24", "--name", "subnet2")
        seed.neutron("port-create", "net2")
        first = seed.hosting("net2")
        assert len(first) == 1
        other = "HostB" if first == ["HostA"] else "HostA"
        out = seed.neutron("dhcp-agent-network-add", dhcp_b if other == "HostB" else dhcp_a,
                           "net2")
        assert "Added network net2" in out
        assert seed.hosting("net2") == ["HostA", "HostB"]
        out = seed.neutron("dhcp-agent-network-remove", dhcp_a, "net2")
        assert "Removed network net2" in out
        # Make-before-break: HostA's binding leaves once HostB's dnsmasq serves net2.
        wait_until(lambda: seed.hosting("net2") == ["HostB"], 30, message="net2 on HostB only")
        columns, rows = seed.table("net-list-on-dhcp-agent", dhcp_b)
        assert columns == ["id", "name", "subnets"] and "net2" in {r["name"] for r in rows}
        seed.neutron("dhcp-agent-network-add", dhcp_a, "net2")
        assert seed.hosting("net2") == ["HostA", "HostB"]

        # HA: myserver4 on net2 keeps getting its address while either agent serves.
        seed.boot("net2", "HostA", "myserver4")
        wanted_ip = vms.load_vm(seed.lab_dir, "myserver4").ip  # what the port was given
        assert wanted_ip.startswith("9.0.1.")
        for host in ("HostA", "HostB"):
            wait_until(lambda h=host: seed.dnsmasq_serving(h, "net2"), 30,
                       message=f"dnsmasq for net2 on {host}")
        assert wait_until(lambda: seed.dhcp("myserver4") == wanted_ip, 20, message="a lease")

        assert seed.lab("agent", "stop", "HostA", "--with-dnsmasq")[0] == 0
        assert not seed.dnsmasq_serving("HostA", "net2")
        assert seed.dhcp("myserver4") == wanted_ip

        assert seed.lab("agent", "stop", "HostB", "--with-dnsmasq")[0] == 0
        assert seed.dhcp("myserver4") is None

        assert seed.lab("agent", "start", "HostB")[0] == 0
        assert wait_until(lambda: seed.dhcp("myserver4", timeout=2) == wanted_ip, 30,
                          message="a lease from HostB again")

        # Disable A: new networks never go to it.
        assert seed.lab("agent", "start", "HostA")[0] == 0
        wait_until(lambda: seed.agents()[("DHCP agent", "HostA")]["alive"] == ":-)", 20,
                   message="HostA's DHCP agent back")
        seed.neutron("agent-update", "--admin-state-up", "False", dhcp_a)
        assert seed.agents()[("DHCP agent", "HostA")]["admin_state_up"] == "False"
        for name in ("net3", "net4"):
            seed.neutron("net-create", name)
            seed.neutron("subnet-create", name, "10.9.0.0/24")
            assert seed.hosting(name) == ["HostB"]

        # Delete A: gone from the list; started again, it is back with a new id.
        assert seed.lab("agent", "stop", "HostA")[0] == 0
        out = seed.neutron("agent-delete", dhcp_a)
        assert dhcp_a in out
        assert ("DHCP agent", "HostA") not in seed.agents()
        assert len(seed.agents()) == 3
        assert seed.lab("agent", "start", "HostA")[0] == 0
        back = wait_until(lambda: seed.agents().get(("DHCP agent", "HostA")), 20,
                          message="HostA's DHCP agent to register again")
        assert isinstance(back, dict) and back["id"] != dhcp_a


def test_two_agents_per_network_host_every_new_network() -> None:
    with running_seed("dhcp_agents_per_network = 2\n") as seed:
        wait_until(lambda: four_agents_alive(seed), 30, message="four live agents")
        seed.neutron("net-create", "net2")
        seed.neutron("subnet-create", "net2", "9.0.1.0/24", "--name", "subnet2")
        assert wait_until(lambda: seed.hosting("net2") == ["HostA", "HostB"], 10,
                          message="net2 on both agents")
        for host in ("HostA", "HostB"):
            wait_until(lambda h=host: seed.dnsmasq_serving(h, "net2"), 30,
                       message=f"dnsmasq for net2 on {host}")

        # Port status follows wiring (issue 11): a VM port bound to HostA is DOWN until
        # HostA's L2 agent has plugged its tap and both DHCP agents have loaded it, and
        # DOWN again once the VM (and with it the tap) is gone.
        port = json.loads(seed.neutron(
            "port-create", "net2", "--name", "statusvm", "--device-owner", "compute:nova",
            "--device-id", "statusvm", "--binding:host_id", "HostA", "-f", "json"))
        assert port["status"] == "DOWN"

        def status() -> str:
            return str(json.loads(seed.neutron("port-show", port["id"], "-f", "json"))["status"])

        plan = runtime.load(seed.lab_dir).plan
        namespace = plan.vm_namespace("statusvm")
        try:
            start = time.monotonic()
            wiring.make_vm(plan.host("HostA"), namespace, tap_name(port["id"]),
                           port["mac_address"])
            wait_until(lambda: status() == "ACTIVE", 30, message="the VM port ACTIVE")
            to_active = time.monotonic() - start
            start = time.monotonic()
            wiring.delete_namespace(namespace)  # the VM is gone, its tap with it
            wait_until(lambda: status() == "DOWN", 30, message="the VM port DOWN again")
            to_down = time.monotonic() - start
        finally:
            wiring.delete_namespace(namespace)
        print(f"port status: DOWN at create, ACTIVE {to_active:.1f} s after the tap "
              f"appeared, DOWN {to_down:.1f} s after it went")
