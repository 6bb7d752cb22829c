from __future__ import annotations

from collections.abc import Sequence

from neutrino.agent.bridges import BridgeDevices
from neutrino.agent.ip_command import IpCommand
from neutrino.agent.l2_plan import L2Config, LocalLinks, plan_links
from neutrino.agent.naming import tap_name
from neutrino.agent_protocol.messages import BoundDevice, L2HostState


class RecordingRunner:
    """Stands in for subprocess: the kernel here has no 802.1Q, so VLAN is checked by the
    exact requests the agent would make."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        self.calls.append((list(argv), stdin))
        return ""


def test_vlan_uplink_is_requested_in_one_ip_batch() -> None:
    runner = RecordingRunner()
    devices = BridgeDevices(IpCommand(runner))
    port = "5e2f1a7c-0000-4000-8000-000000000001"
    state = L2HostState(devices=[BoundDevice(
        port_id=port, network_id="9b96b14f-71b8-4918-90aa-c5d705606b1a",
        mac_address="fa:16:3e:00:00:01", network_type="vlan", physical_network="physnet1",
        segmentation_id=1000)])
    config = L2Config(physical_interface_mappings={"physnet1": "eth0"})
    local = LocalLinks(kinds={tap_name(port): "veth", "eth0": ""})
    devices.apply(plan_links(state, config, local), local, config)
    assert runner.calls == [(["ip", "-batch", "-"], (
        "link add brq9b96b14f-71 type bridge\n"
        "link set brq9b96b14f-71 up\n"
        "link add link eth0 name eth0.1000 type vlan id 1000\n"
        "link set eth0.1000 master brq9b96b14f-71 up\n"
        "link set tap5e2f1a7c-00 master brq9b96b14f-71 up\n"))]
