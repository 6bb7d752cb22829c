"""Availability zones end to end, as an operator would see them: a real neutrino-server
process (dhcp_agents_per_network = 2), four lab hosts with their real DHCP and Linux bridge
agent processes, HostA and HostB in zone rack-a, HostC and HostD in rack-b (`[agent]
availability_zone`). A network gets one agent per zone; a VM on the rack-a host that does
not serve it asks with udhcpc in a loop while the serving rack-a host dies (every process
killed, cable cut): rack-b's dnsmasq answers meanwhile, and failover gives the network to
the other rack-a agent, not to the idle rack-b one (the zone that lost an agent has one
left), and no request fails."""
from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neutrino.agent import namespaces
from neutrino.cli.api import NeutronClient
from neutrino.lab import runtime, vms, wiring
from tests.support.admin_api import admin_client, login
from tests.support.dhcp_loops import DhcpLoop, describe, failed_requests, write_script
from tests.support.lab_env import bootstrap_identities, free_port, require_root_and_tools
from tests.support.server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USER
from tests.support.server_process import ServerProcess, server_conf
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

ZONES = {"HostA": "rack-a", "HostB": "rack-a", "HostC": "rack-b", "HostD": "rack-b"}
DOWN_TIME = 4


class Deployment:
    def __init__(self, tmp: Path, prefix: str, server: ServerProcess) -> None:
        self.tmp, self.prefix, self.server = tmp, prefix, server
        self.api: NeutronClient | None = None

    @property
    def lab_dir(self) -> Path:
        return self.tmp / "lab"

    def client(self) -> NeutronClient:
        assert self.api is not None
        return self.api

    def dhcp_agents(self) -> dict[str, dict[str, object]]:
        return {a["host"]: a for a in self.client().list_resources(
            "agents", agent_type="DHCP agent")}

    def hosting(self, network_id: str) -> set[str]:
        return {a["host"] for a in self.client().list_dhcp_agents_hosting_network(network_id)}


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    require_root_and_tools(what="the availability zone end-to-end test")
    prefix = f"az{secrets.token_hex(2)[:3]}-"
    # Not pytest's tmp_path (mode 0700): dnsmasq drops root and must read its files.
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    tmp.chmod(0o755)
    port = free_port()
    conf = tmp / "server.conf"
    conf.write_text(server_conf(port=port, state_path=tmp, db_url=f"sqlite:///{tmp}/n.db",
                                agent_down_time=DOWN_TIME, dhcp_agents_per_network=2))
    server = ServerProcess("server", conf, port, tmp / "server.log")
    deployment = Deployment(tmp, prefix, server)
    try:
        bootstrap_identities(conf)
        server.start()
        server.wait_answering()
        deployment.api = admin_client(lambda: [server.url],
                                      login(server.url, "admin", ADMIN_PASSWORD, "admin"))
        runtime.up(deployment.lab_dir, server.url, AGENT_USER, AGENT_PASSWORD, prefix=prefix,
                   report_interval=1, hosts=tuple(ZONES), zones=ZONES)
        yield deployment
    except BaseException:
        for log in [server.log, *sorted(deployment.lab_dir.glob("Host*/*.log"))]:
            if log.exists():
                print(f"--- tail of {log} ---\n" +
                      "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        raise
    finally:
        try:
            runtime.down(deployment.lab_dir, prefix=prefix)
        finally:
            server.stop()
        left = namespaces.list_names(prefix) + wiring.root_links(prefix)
        shutil.rmtree(tmp, ignore_errors=True)
        assert not left, f"the availability zone test left {left} behind"


def test_agents_spread_over_zones_and_a_vm_loses_nothing_when_a_zone_host_dies(
        deployment: Deployment) -> None:
    began = time.monotonic()
    wait_until(lambda: {h: (a["alive"], a["availability_zone"])
                        for h, a in deployment.dhcp_agents().items()}
               == {h: (True, z) for h, z in ZONES.items()}, 40, 0.2,
               "four live DHCP agents reporting their zones")
    api = deployment.client()
    net = api.create("network", {"name": "az-net"})
    api.create("subnet", {"network_id": net["id"], "cidr": "10.90.0.0/24", "ip_version": 4})
    wait_until(lambda: len(deployment.hosting(net["id"])) == 2, 10, 0.2, "two DHCP agents")
    hosting = deployment.hosting(net["id"])
    assert sorted(ZONES[h] for h in hosting) == ["rack-a", "rack-b"], hosting
    assert api.show("network", net["id"])["availability_zones"] == ["rack-a", "rack-b"]
    serving = next(h for h in hosting if ZONES[h] == "rack-a")
    in_b = next(h for h in hosting if ZONES[h] == "rack-b")
    spare = "HostB" if serving == "HostA" else "HostA"

    vm = vms.boot(api, deployment.lab_dir, "az-net", spare, "vm1")
    loop = DhcpLoop(vm, write_script(deployment.tmp)).start()
    try:
        wait_until(lambda: any(a.ip == vm.ip for a in loop.answers()), 30, 0.2,
                   f"{vm.name} leased {vm.ip}")
        killed_at = time.monotonic()
        runtime.host_down(deployment.lab_dir, serving)
        wait_until(lambda: deployment.hosting(net["id"]) == {spare, in_b},
                   DOWN_TIME + 15, 0.2, f"failover from {serving} to {spare} (same zone)")
        moved_at = time.monotonic()
        # The newcomer serves too: the VM is answered by it or by rack-b from here on.
        wait_until(lambda: len([a for a in loop.answers()
                                if a.started > moved_at and a.ip]) >= 3, 30, 0.2,
                   "three leases after the failover")
    finally:
        loop.stop()
    answers = loop.answers()
    failed = failed_requests(answers, killed_at, time.monotonic())
    assert failed == [], describe(answers, killed_at)
    assert all(a.ip == vm.ip for a in answers if a.ip)
    print(f"availability zones e2e: {len(answers)} requests, 0 failed; failover "
          f"{moved_at - killed_at:.1f} s after the host died; {time.monotonic() - began:.1f} s "
          "from the lab up")
