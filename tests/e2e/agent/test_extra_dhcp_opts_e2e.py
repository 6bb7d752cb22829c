"""Per-port DHCP options and the DHCP agent's dnsmasq options, end to end: the real server
(SQLite), the real DHCP agent, dnsmasq in its namespace, udhcpc in a VM namespace.

One deployment for the module: the agent runs with dhcp_renewal_time/dhcp_rebinding_time set,
so the same answers show both the port's options and the agent's T1/T2.
"""
from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from neutrino.agent import dnsmasq
from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.naming import bridge_name
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agent_lab import UDHCPC, Lab, purge, sh
from tests.support.server import USERS, RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

LEASE, T1, T2 = 120, 40, 70
# udhcpc hands every option it knows to its script as a variable; -O asks dnsmasq for the
# boot options, which it only sends to clients that request them.
SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && env | sed "s/^/ENV /"\nexit 0\n'


@dataclass
class Deployment:
    lab: Lab
    server: RunningServer
    admin: httpx.Client
    agent: DhcpAgent
    network_id: str
    script: str

    def dnsmasq_pid(self) -> int | None:
        return dnsmasq.running_pid(ConfPaths.for_network(self.lab.settings().dhcp_confs,
                                                         self.network_id))

    def tagged(self, port_id: str) -> int | None:
        """The pid of the dnsmasq whose command line tags this port, if it runs."""
        pid = self.dnsmasq_pid()
        flag = f"--dhcp-mac=set:port-{port_id},"
        if pid is not None and any(a.startswith(flag) for a in dnsmasq.cmdline(pid)):
            return pid
        return None

    def opts_file(self) -> str:
        path = Path(ConfPaths.for_network(self.lab.settings().dhcp_confs,
                                          self.network_id).opts)
        return path.read_text() if path.exists() else ""

    def answer(self, vm_namespace: str) -> dict[str, str]:
        """What one udhcpc run was told (its script's environment), {} if not answered."""
        proc = sh("ip", "netns", "exec", vm_namespace, UDHCPC, "-i", "eth0", "-n", "-q",
                  "-t", "3", "-T", "1", "-f", "-s", self.script, "-O", "bootfile",
                  "-O", "tftp", "-O", "58", "-O", "59", check=False)
        env = {}
        for line in proc.stdout.splitlines():
            key, _, value = line.removeprefix("ENV ").partition("=")
            # udhcpc's variables are lower case; the rest is the test's own environment.
            if line.startswith("ENV ") and key.islower():
                env[key] = value
        if not env:
            paths = ConfPaths.for_network(self.lab.settings().dhcp_confs, self.network_id)
            print(f"udhcpc in {vm_namespace} got no answer: {proc.stdout}{proc.stderr}\n"
                  f"dnsmasq {self.dnsmasq_pid()}; hosts:\n{Path(paths.hosts).read_text()}"
                  f"opts:\n{Path(paths.opts).read_text()}")
        return env


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    # Without root the module's `root` mark has already failed (CI) or skipped each test.
    prefix = "ne" + secrets.token_hex(2)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    tmp.chmod(0o755)  # dnsmasq, as nobody, rereads its files below it
    lab = Lab(prefix=prefix, tmp=tmp)
    script = tmp / "udhcpc-env.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    settings = settings_for(f"sqlite:///{tmp}/neutrino.db", str(tmp / "server"),
                            agent_down_time=5)
    stop = threading.Event()
    net_id = ""
    with running_server(settings) as server:
        name, password, project = USERS["agent"]
        client = HttpAgentClient(server.url, name, password, project)
        agent = DhcpAgent(lab.settings(dhcp_lease_duration=LEASE, dhcp_renewal_time=T1,
                                       dhcp_rebinding_time=T2), client)
        thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        thread.start()
        admin = server.client("admin")
        try:
            assert agent.synced.wait(30)
            wait_until(lambda: agent.heartbeat.agent_id, 20, message="agent registered")
            net = admin.post("/v2.0/networks", json={"network": {"name": "edo"}}).json()
            net_id = net["network"]["id"]
            admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": net_id, "cidr": "9.0.9.0/24"}}).raise_for_status()
            wait_until(lambda: net_id in agent.applied, 30, message="network served")
            yield Deployment(lab, server, admin, agent, net_id, str(script))
        finally:
            stop.set()
            thread.join(20)
            client.close()
            admin.close()
            cleanup_dhcp(str(tmp / "dhcp"), f"{prefix}-dhcp-")
            purge(prefix)
            if net_id:
                # Server-made ids carry no run prefix: remove this network's bridge by name.
                sh("ip", "link", "delete", bridge_name(net_id), check=False)
            shutil.rmtree(tmp, ignore_errors=True)


def _port(d: Deployment, **attrs: Any) -> dict[str, Any]:
    response = d.admin.post("/v2.0/ports", json={"port": {"network_id": d.network_id, **attrs}})
    assert response.status_code == 201, response.text
    port: dict[str, Any] = response.json()["port"]
    return port


def test_port_options_reach_udhcpc_and_an_update_needs_no_restart(deployment: Deployment
                                                                   ) -> None:
    d = deployment
    port = _port(d, extra_dhcp_opts=[
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tftp-server", "opt_value": "tftp.example.test"},
        {"opt_name": "server-ip-address", "opt_value": "192.0.2.9"}])
    other = _port(d)  # same network, no options: gets none of them
    # A port's first option tags it on dnsmasq's command line: one restart (see
    # dnsmasq_config.tagged_ports); what follows are SIGHUPs of that dnsmasq.
    pid = wait_until(lambda: d.tagged(port["id"]), 30, message="port tagged")
    assert "pxelinux.0" in d.opts_file()
    vm = d.lab.add_vm(d.network_id, port["id"], port["mac_address"])
    plain = d.lab.add_vm(d.network_id, other["id"], other["mac_address"])

    env = d.answer(vm.namespace)
    print(f"udhcpc answer for the port with options: {env}")
    assert env.get("ip") == port["fixed_ips"][0]["ip_address"]
    assert env.get("bootfile") == "pxelinux.0"
    assert env.get("tftp") == "tftp.example.test"
    assert env.get("siaddr") == "192.0.2.9"
    bare = d.answer(plain.namespace)
    assert bare.get("ip") == other["fixed_ips"][0]["ip_address"]
    assert "bootfile" not in bare and "tftp" not in bare and bare.get("siaddr") != "192.0.2.9"

    updated = d.admin.put(f"/v2.0/ports/{port['id']}", json={"port": {"extra_dhcp_opts": [
        {"opt_name": "bootfile-name", "opt_value": "ipxe.efi"},
        {"opt_name": "tftp-server", "opt_value": None}]}})
    assert updated.status_code == 200, updated.text
    wait_until(lambda: "ipxe.efi" in d.opts_file(), 20, message="update written")
    env = d.answer(vm.namespace)
    assert env.get("bootfile") == "ipxe.efi"
    assert "tftp" not in env
    assert env.get("siaddr") == "192.0.2.9"  # not named in the update: kept
    assert d.dnsmasq_pid() == pid  # SIGHUP, no restart

    # A second update, and an answer after it: dnsmasq 2.90 died on exactly this SIGHUP when
    # the port was tagged by `set:` in the hosts file.
    again = d.admin.put(f"/v2.0/ports/{port['id']}", json={"port": {"extra_dhcp_opts": [
        {"opt_name": "bootfile-name", "opt_value": "grub.efi"}]}})
    assert again.status_code == 200, again.text
    wait_until(lambda: "grub.efi" in d.opts_file(), 20, message="second update written")
    assert d.answer(vm.namespace).get("bootfile") == "grub.efi"
    assert d.dnsmasq_pid() == pid

    cleared = d.admin.put(f"/v2.0/ports/{port['id']}", json={"port": {"extra_dhcp_opts": []}})
    assert cleared.status_code == 200, cleared.text
    wait_until(lambda: f"port-{port['id']}" not in d.opts_file(), 20, message="cleared")
    wait_until(lambda: d.dnsmasq_pid() and not d.tagged(port["id"]), 30, message="untagged")
    env = d.answer(vm.namespace)
    assert env.get("ip") == port["fixed_ips"][0]["ip_address"] and "bootfile" not in env


def test_agent_renewal_and_rebinding_times_reach_udhcpc(deployment: Deployment) -> None:
    d = deployment
    port = _port(d)
    vm = d.lab.add_vm(d.network_id, port["id"], port["mac_address"])
    env = d.answer(vm.namespace)
    print(f"udhcpc answer with dhcp_renewal_time={T1}, dhcp_rebinding_time={T2}: {env}")
    assert env.get("lease") == str(LEASE)
    # udhcpc has no names for options 58/59: asked for with -O, it passes them in hex.
    assert env.get("opt58") == f"{T1:08x}"
    assert env.get("opt59") == f"{T2:08x}"
