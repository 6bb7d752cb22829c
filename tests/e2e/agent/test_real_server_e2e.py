"""The DHCP agent against a real neutrino-server (in-process uvicorn, SQLite) over HTTP."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from neutrino.agent import namespaces
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.naming import bridge_name, tap_name, vxlan_name
from neutrino.agent.settings import L2AgentSettings, ServerAccess
from neutrino.agent_protocol.messages import AgentState
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agent_lab import Lab, sh
from tests.support.server import USERS, RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root


@pytest.fixture
def server(lab: Lab) -> Iterator[RunningServer]:
    settings = settings_for(f"sqlite:///{lab.tmp}/neutrino.db", str(lab.tmp / "server"),
                            agent_down_time=5)
    with running_server(settings) as running:
        yield running


def test_agent_serves_a_network_scheduled_by_the_real_server(lab: Lab,
                                                             server: RunningServer) -> None:
    name, password, project = USERS["agent"]
    client = HttpAgentClient(server.url, name, password, project)
    agent = DhcpAgent(lab.settings(), client)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    admin = server.client("admin")
    net_id = ""
    try:
        assert agent.synced.wait(20)
        wait_until(lambda: agent.heartbeat.agent_id)
        net = admin.post("/v2.0/networks", json={"network": {"name": "net2"}}).json()["network"]
        net_id = net["id"]
        admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": "9.0.1.0/24", "ip_version": 4,
            "name": "subnet2"}}).raise_for_status()
        port = admin.post("/v2.0/ports", json={"port": {"network_id": net_id}}).json()["port"]
        wait_until(lambda: net_id in agent.applied, 20)
        hosting = admin.get(f"/v2.0/networks/{net_id}/dhcp-agents").json()["agents"]
        assert [a["host"] for a in hosting] == [lab.host]

        vm = lab.add_vm(net_id, port["id"], port["mac_address"])
        assert vm.dhcp() == port["fixed_ips"][0]["ip_address"]

        shown = admin.get(f"/v2.0/agents/{agent.heartbeat.agent_id}").json()["agent"]
        wait_until(lambda: admin.get(f"/v2.0/agents/{agent.heartbeat.agent_id}").json()
                   ["agent"]["configurations"]["networks"] == 1, 10)
        assert shown["agent_type"] == "DHCP agent" and shown["topic"] == "dhcp_agent"

        removed = admin.delete(
            f"/v2.0/agents/{agent.heartbeat.agent_id}/dhcp-networks/{net_id}")
        assert removed.status_code == 204
        namespace = agent.networks.namespace(net_id)
        wait_until(lambda: not namespaces.exists(namespace) and net_id not in agent.applied,
                   20)
    finally:
        stop.set()
        thread.join(20)
        client.close()
        admin.close()
        if net_id:
            # Server-made ids carry no run prefix: remove this network's bridge by name.
            sh("ip", "link", "delete", bridge_name(net_id), check=False)


def test_agent_binary_serves_survives_sigterm_and_cleans_up(lab: Lab,
                                                           server: RunningServer) -> None:
    name, password, project = USERS["agent"]
    conf = lab.tmp / "neutron.conf"
    conf.write_text(
        f"[DEFAULT]\ntransport_url = http://{name}:{password}@127.0.0.1:"
        f"{server.url.rsplit(':', 1)[1]}/?project={project}\nhost = {lab.host}\n"
        f"state_path = {lab.tmp}\nnamespace_prefix = {lab.prefix}-dhcp-\n"
        f"rabbit_host = controlnode\n[agent]\nreport_interval = 1\n")
    ini = lab.tmp / "dhcp_agent.ini"
    ini.write_text("[DEFAULT]\ninterface_driver = "
                   "neutron.agent.linux.interface.BridgeInterfaceDriver\n")
    binary = str(Path(sys.executable).parent / "neutrino-dhcp-agent")
    args = [binary, "--config-file", str(conf), "--config-file", str(ini)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    admin = server.client("admin")
    net_id = ""
    try:
        net = admin.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]
        net_id = net["id"]
        wait_until(lambda: admin.get("/v2.0/agents").json()["agents"], 20)
        admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": "9.0.2.0/24", "ip_version": 4}}).raise_for_status()
        port = admin.post("/v2.0/ports", json={"port": {"network_id": net_id}}).json()["port"]
        namespace = f"{lab.prefix}-dhcp-{net_id}"
        wait_until(lambda: namespaces.exists(namespace), 20)
        vm = lab.add_vm(net_id, port["id"], port["mac_address"])
        wait_until(lambda: vm.dhcp(tries=1) == port["fixed_ips"][0]["ip_address"], 20)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert vm.dhcp() == port["fixed_ips"][0]["ip_address"]  # dnsmasq kept serving

        cleanup = subprocess.run(args + ["cleanup"], capture_output=True, text=True,
                                 timeout=60, check=False)
        assert cleanup.returncode == 0, cleanup.stderr
        assert not namespaces.exists(namespace)
        assert vm.dhcp(tries=1) is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        admin.close()
        if net_id:
            sh("ip", "link", "delete", bridge_name(net_id), check=False)


def test_linuxbridge_agent_wires_what_the_real_server_binds(lab: Lab,
                                                           server: RunningServer) -> None:
    name, password, project = USERS["agent"]
    client = HttpAgentClient(server.url, name, password, project)
    peer = HttpAgentClient(server.url, name, password, project)
    peer.report_state(AgentState(
        agent_type="Linux bridge agent", binary="neutrino-linuxbridge-agent", host="peer",
        start_flag=True, configurations={"tunneling_ip": "198.51.100.9",
                                         "tunnel_types": ["vxlan"], "devices": 0}))
    settings = L2AgentSettings(
        host=lab.host, state_path=str(lab.tmp), debug=True,
        server=ServerAccess(server.url, name, password, project), report_interval=1,
        availability_zone="nova", polling_interval=1, resync_interval=5,
        physical_interface_mappings={}, enable_vxlan=True, local_ip="192.0.2.1",
        vxlan_group=None, l2_population=False, vxlan_udp_port=4789, vxlan_ttl=None)
    agent = LinuxBridgeAgent(settings, client, long_poll_timeout=1.0)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    admin = server.client("admin")
    bridge = vxlan = ""
    try:
        net = admin.post("/v2.0/networks", json={"network": {"name": "l2"}}).json()["network"]
        vni = net["provider:segmentation_id"]
        assert net["provider:network_type"] == "vxlan"
        bridge, vxlan = bridge_name(net["id"]), vxlan_name(vni)
        admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "9.0.3.0/24", "ip_version": 4}}
        ).raise_for_status()
        port = admin.post("/v2.0/ports", json={"port": {
            "network_id": net["id"], "binding:host_id": lab.host}}).json()["port"]
        vm = f"{lab.prefix}-vm"
        sh("ip", "netns", "add", vm)
        sh("ip", "link", "add", tap_name(port["id"]), "type", "veth", "peer", "name", "eth0",
           "netns", vm)
        wait_until(lambda: _master(tap_name(port["id"])) == bridge, 20)
        wait_until(lambda: _master(vxlan) == bridge, 20)
        # The flood entry is written after the device joins the bridge: poll for it too.
        wait_until(lambda: "00:00:00:00:00:00 dst 198.51.100.9"
                   in sh("bridge", "fdb", "show", "dev", vxlan).stdout, 20)
        shown = admin.get("/v2.0/agents", params={"host": lab.host}).json()["agents"]
        assert any(a["agent_type"] == "Linux bridge agent" for a in shown)
    finally:
        stop.set()
        thread.join(20)
        client.close()
        peer.close()
        admin.close()
        for link in (vxlan, bridge):
            if link:
                sh("ip", "link", "delete", link, check=False)


def _master(link: str) -> str | None:
    proc = sh("ip", "-j", "link", "show", "dev", link, check=False)
    return json.loads(proc.stdout)[0].get("master") if proc.returncode == 0 else None
