from __future__ import annotations

from neutrino.agent.l2_plan import (
    BridgePlan,
    L2Config,
    LocalLinks,
    Uplink,
    link_commands,
    plan_links,
    wired_ports,
)
from neutrino.transport.messages import BoundDevice, L2HostState, TunnelEndpoint

NET_A = "aaaaaaaa-1111-2222-3333-444444444444"
NET_B = "bbbbbbbb-1111-2222-3333-444444444444"
BR_A, BR_B = "brqaaaaaaaa-11", "brqbbbbbbbb-11"


def device(port: str, net: str = NET_A, kind: str = "vlan", seg: int | None = 1000,
           physnet: str | None = "physnet1") -> BoundDevice:
    return BoundDevice(port_id=port, network_id=net, mac_address="fa:16:3e:00:00:01",
                       network_type=kind, physical_network=physnet, segmentation_id=seg)


VLAN = L2Config(physical_interface_mappings={"physnet1": "eth0"})
VXLAN_UNICAST = L2Config(enable_vxlan=True, local_ip="192.0.2.1", vxlan_group=None)
VXLAN_MCAST = L2Config(enable_vxlan=True, local_ip="192.0.2.1", vxlan_group="224.0.0.1",
                       vxlan_dev="eth1")


def links(*names: str, **kinds: str) -> dict[str, str]:
    return {**{n: "veth" for n in names}, **kinds}


def test_vlan_network_gets_bridge_subinterface_and_taps() -> None:
    state = L2HostState(devices=[device("port1xxxxxxxx"), device("port2xxxxxxxx")])
    local = LocalLinks(kinds=links("tapport1xxxxxx", "tapport2xxxxxx", eth0=""))
    plan = plan_links(state, VLAN, local)
    assert plan.bridges == (BridgePlan(NET_A, BR_A, Uplink("vlan", "eth0.1000", "eth0", 1000),
                                       ("tapport1xxxxxx", "tapport2xxxxxx")),)
    assert plan.devices == 2
    ip_lines, bridge_lines = link_commands(plan, local, VLAN)
    assert ip_lines == [
        f"link add {BR_A} type bridge", f"link set {BR_A} up",
        "link add link eth0 name eth0.1000 type vlan id 1000",
        f"link set eth0.1000 master {BR_A} up",
        f"link set tapport1xxxxxx master {BR_A} up",
        f"link set tapport2xxxxxx master {BR_A} up"]
    assert bridge_lines == []


def test_nothing_to_do_when_already_wired() -> None:
    state = L2HostState(devices=[device("port1xxxxxxxx")])
    local = LocalLinks(kinds=links("tapport1xxxxxx", eth0="", **{"eth0.1000": "vlan",
                                                                 BR_A: "bridge"}),
                       masters={"tapport1xxxxxx": BR_A, "eth0.1000": BR_A})
    assert link_commands(plan_links(state, VLAN, local), local, VLAN) == ([], [])


def test_flat_network_enslaves_the_physical_interface() -> None:
    state = L2HostState(devices=[device("port1xxxxxxxx", kind="flat", seg=None)])
    local = LocalLinks(kinds=links("tapport1xxxxxx", eth0=""))
    ip_lines, _ = link_commands(plan_links(state, VLAN, local), local, VLAN)
    assert f"link set eth0 master {BR_A} up" in ip_lines
    assert not any("type vlan" in line for line in ip_lines)


def test_devices_whose_tap_is_absent_make_no_bridge() -> None:
    plan = plan_links(L2HostState(devices=[device("port1xxxxxxxx")]), VLAN, LocalLinks())
    assert plan.bridges == () and plan.devices == 0


def test_vxlan_unicast_floods_to_other_endpoints_only() -> None:
    state = L2HostState(devices=[device("port1xxxxxxxx", kind="vxlan", seg=1001,
                                        physnet=None)],
                        tunnel_endpoints=[TunnelEndpoint(host="A", ip="192.0.2.1"),
                                          TunnelEndpoint(host="B", ip="192.0.2.2",
                                                         tunnel_types=["vxlan"]),
                                          TunnelEndpoint(host="C", ip="192.0.2.3")])
    local = LocalLinks(kinds=links("tapport1xxxxxx"), flood={"vxlan-1001": frozenset(
        {"192.0.2.9"})})
    plan = plan_links(state, VXLAN_UNICAST, local)
    assert plan.flood == {"vxlan-1001": ("192.0.2.2", "192.0.2.3")}
    ip_lines, bridge_lines = link_commands(plan, local, VXLAN_UNICAST)
    assert ("link add vxlan-1001 type vxlan id 1001 local 192.0.2.1 nolearning dstport 4789"
            in ip_lines)
    assert bridge_lines == [
        "fdb append 00:00:00:00:00:00 dev vxlan-1001 dst 192.0.2.2",
        "fdb append 00:00:00:00:00:00 dev vxlan-1001 dst 192.0.2.3",
        "fdb del 00:00:00:00:00:00 dev vxlan-1001 dst 192.0.2.9"]


def test_vxlan_multicast_uses_group_and_no_flood_entries() -> None:
    state = L2HostState(devices=[device("port1xxxxxxxx", kind="vxlan", seg=7, physnet=None)],
                        tunnel_endpoints=[TunnelEndpoint(host="B", ip="192.0.2.2")])
    local = LocalLinks(kinds=links("tapport1xxxxxx"))
    plan = plan_links(state, VXLAN_MCAST, local)
    ip_lines, bridge_lines = link_commands(plan, local, VXLAN_MCAST)
    assert ("link add vxlan-7 type vxlan id 7 local 192.0.2.1 group 224.0.0.1 dev eth1 "
            "dstport 4789") in ip_lines
    assert bridge_lines == []


def test_unmapped_physnet_and_disabled_vxlan_are_reported() -> None:
    state = L2HostState(devices=[device("port1xxxxxxxx", physnet="physnet9"),
                                 device("port2xxxxxxxx", net=NET_B, kind="vxlan", seg=5)])
    local = LocalLinks(kinds=links("tapport1xxxxxx", "tapport2xxxxxx"))
    plan = plan_links(state, VLAN, local)
    assert len(plan.problems) == 2
    assert "physnet9" in plan.problems[0] and "enable_vxlan" in plan.problems[1]
    assert all(b.uplink is None for b in plan.bridges)


def test_bridge_left_with_only_uplinks_is_deleted_with_them() -> None:
    local = LocalLinks(kinds={BR_A: "bridge", "vxlan-1001": "vxlan", BR_B: "bridge",
                              "tapother": "veth", "brother": "bridge", "eth0.7": "vlan",
                              "brqcccccccc-1": "bridge"},
                       masters={"vxlan-1001": BR_A, "tapother": BR_B,
                                "eth0.7": "brqcccccccc-1"})
    plan = plan_links(L2HostState(), VLAN, local)
    # brq with a foreign tap stays; bridges not named brq are not ours.
    assert plan.delete_bridges == (BR_A, "brqcccccccc-1")
    assert plan.delete_links == ("vxlan-1001", "eth0.7")
    ip_lines, _ = link_commands(plan, local, VLAN)
    assert ip_lines == ["link delete vxlan-1001", "link delete eth0.7",
                        f"link delete {BR_A}", "link delete brqcccccccc-1"]


def test_wired_ports_are_those_whose_tap_reaches_their_segment() -> None:
    state = L2HostState(devices=[
        device("port1xxxxxxxx"),                        # tap present, VLAN mapped
        device("port2xxxxxxxx"),                        # no tap on this host (yet)
        device("port3xxxxxxxx", net=NET_B, physnet="physnet9"),  # physnet not mapped
        device("port4xxxxxxxx", net="cccccccc-1", kind="local", seg=None, physnet=None)])
    local = LocalLinks(kinds=links("tapport1xxxxxx", "tapport3xxxxxx", "tapport4xxxxxx"))
    plan = plan_links(state, VLAN, local)
    assert wired_ports(state, plan) == {"port1xxxxxxxx", "port4xxxxxxxx"}
