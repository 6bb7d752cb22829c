"""The Linux bridge agent for real, in the test's own namespace: bridges, VXLAN, fdb, taps."""
from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator

import pytest

from neutrino.agent.linuxbridge_agent import LinuxBridgeAgent
from neutrino.agent.naming import bridge_name, tap_name, vxlan_name
from neutrino.agent.settings import L2AgentSettings, ServerAccess
from neutrino.agent_protocol.messages import TunnelEndpoint
from tests.support.agent_lab import Lab, sh
from tests.support.fake_server import FakeServer, make_network
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

LOCAL_IP = "192.0.2.1"
REMOTE_IP = "198.51.100.7"


def master_of(link: str) -> str | None:
    proc = sh("ip", "-j", "link", "show", "dev", link, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0].get("master")


def exists(link: str) -> bool:
    return sh("ip", "link", "show", "dev", link, check=False).returncode == 0


def flood_entries(device: str) -> set[str]:
    out = sh("bridge", "-j", "fdb", "show", "dev", device, check=False).stdout or "[]"
    return {e["dst"] for e in json.loads(out) if e.get("mac") == "00:00:00:00:00:00"}


@pytest.fixture
def vni() -> Iterator[int]:
    # VXLAN device names carry no run prefix, so use a random, high VNI and delete it by name.
    value = 15_000_000 + secrets.randbelow(1_000_000)
    yield value
    sh("ip", "link", "delete", vxlan_name(value), check=False)


def start(lab: Lab, server: FakeServer, **changes: object) -> LinuxBridgeAgent:
    settings = L2AgentSettings(
        host=lab.host, state_path=str(lab.tmp), debug=True,
        server=ServerAccess("http://fake/", "u", "p"), report_interval=1,
        availability_zone="nova", polling_interval=1, resync_interval=5,
        physical_interface_mappings={}, enable_vxlan=True, local_ip=LOCAL_IP,
        vxlan_group=None, l2_population=False, vxlan_udp_port=4789, vxlan_ttl=None)
    agent = LinuxBridgeAgent(settings.replace(**changes), server, long_poll_timeout=1.0)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    lab.l2_stops.append((stop, thread))
    return agent


def test_vxlan_network_is_wired_and_unwired(lab: Lab, vni: int) -> None:
    server = lab.server
    server.tunnel_endpoints = [TunnelEndpoint(host=lab.host, ip=LOCAL_IP),
                               TunnelEndpoint(host="other", ip=REMOTE_IP)]
    net = lab.net_id(1)
    server.add_network(make_network(net, "10.81.0.0/24", segmentation_id=vni), [])
    port = server.add_port(net, lab.port_id(), host=lab.host)
    ns = f"{lab.prefix}-vm0"
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", tap_name(port.id), "type", "veth", "peer", "name", "eth0",
       "netns", ns)
    agent = start(lab, server)
    bridge, vxlan = bridge_name(net), vxlan_name(vni)
    wait_until(lambda: master_of(tap_name(port.id)) == bridge)
    wait_until(lambda: master_of(vxlan) == bridge)
    assert flood_entries(vxlan) == {REMOTE_IP}
    details = json.loads(sh("ip", "-j", "-d", "link", "show", "dev", vxlan).stdout)[0]
    info = details["linkinfo"]["info_data"]
    assert (info["id"], info["local"], info["port"], info["learning"]) == (
        vni, LOCAL_IP, 4789, False)
    wait_until(lambda: server.reports and server.reports[-1].configurations["devices"] == 1)
    conf = server.reports[-1].configurations
    assert conf["tunnel_types"] == ["vxlan"] and conf["tunneling_ip"] == LOCAL_IP
    assert server.reports[0].agent_type == "Linux bridge agent"

    # A new endpoint joins the flood list; the VM leaves and the bridge goes.
    server.tunnel_endpoints.append(TunnelEndpoint(host="third", ip="198.51.100.8"))
    server.delete_port(net, "no-such-port")  # any event makes the agent refetch
    wait_until(lambda: flood_entries(vxlan) == {REMOTE_IP, "198.51.100.8"})
    server.delete_port(net, port.id)
    sh("ip", "netns", "delete", ns)
    wait_until(lambda: not exists(bridge) and not exists(vxlan))
    wait_until(lambda: agent.plan is not None and agent.plan.devices == 0)
