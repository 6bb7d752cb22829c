"""What the Linux bridge agent wants on its host, and the commands to get there (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field

from neutrino.agent.naming import BRIDGE_PREFIX, VXLAN_PREFIX, bridge_name, tap_name, vlan_name
from neutrino.agent.naming import vxlan_name as vxlan_device
from neutrino.transport.messages import BoundDevice, L2HostState

FLOOD_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True)
class L2Config:
    physical_interface_mappings: dict[str, str] = field(default_factory=dict)
    enable_vxlan: bool = False
    local_ip: str | None = None
    vxlan_group: str | None = "224.0.0.1"  # None: unicast flooding to the other endpoints
    vxlan_udp_port: int = 4789
    vxlan_ttl: int | None = None
    vxlan_dev: str | None = None  # interface holding local_ip, for the multicast group


@dataclass(frozen=True)
class Uplink:
    kind: str  # flat, vlan or vxlan
    name: str
    parent: str | None = None  # vlan: the physical interface
    segmentation_id: int | None = None


@dataclass(frozen=True)
class BridgePlan:
    network_id: str
    bridge: str
    uplink: Uplink | None
    taps: tuple[str, ...]


@dataclass(frozen=True)
class LocalLinks:
    """What exists in the agent's namespace: link -> kind ("" for plain), link -> its bridge,
    and the flood entries (remote IPs) of each VXLAN device."""

    kinds: dict[str, str] = field(default_factory=dict)
    masters: dict[str, str] = field(default_factory=dict)
    flood: dict[str, frozenset[str]] = field(default_factory=dict)

    def members(self, bridge: str) -> set[str]:
        return {link for link, master in self.masters.items() if master == bridge}


@dataclass(frozen=True)
class LinkPlan:
    bridges: tuple[BridgePlan, ...]
    flood: dict[str, tuple[str, ...]]  # vxlan device -> remote endpoint IPs (unicast mode)
    delete_bridges: tuple[str, ...]
    delete_links: tuple[str, ...]
    problems: tuple[str, ...]  # operator-facing: segments this host cannot carry
    devices: int


def _uplink(device: BoundDevice, config: L2Config) -> tuple[Uplink | None, str | None]:
    kind = device.network_type
    if kind == "local":
        return None, None
    if kind == "vxlan":
        if not config.enable_vxlan or device.segmentation_id is None:
            return None, (f"network {device.network_id} is VXLAN but [vxlan] enable_vxlan is "
                          f"False on this host")
        return Uplink("vxlan", vxlan_device(device.segmentation_id),
                      segmentation_id=device.segmentation_id), None
    if kind in ("flat", "vlan"):
        phys = config.physical_interface_mappings.get(device.physical_network or "")
        if phys is None:
            return None, (f"network {device.network_id}: physical network "
                          f"{device.physical_network} is not in [linux_bridge] "
                          f"physical_interface_mappings")
        if kind == "flat":
            return Uplink("flat", phys), None
        if device.segmentation_id is None:
            return None, f"network {device.network_id} is VLAN without a segmentation id"
        return Uplink("vlan", vlan_name(phys, device.segmentation_id), parent=phys,
                      segmentation_id=device.segmentation_id), None
    return None, f"network {device.network_id}: network type {kind} is not supported"


def _is_our_uplink(link: str, kind: str, config: L2Config) -> bool:
    return (link.startswith(VXLAN_PREFIX) or kind == "vlan"
            or link in config.physical_interface_mappings.values())


def plan_links(state: L2HostState, config: L2Config, local: LocalLinks) -> LinkPlan:
    """Bridges for networks with a tap on this host, their uplinks and taps; empty brq
    bridges (only uplinks left) are deleted with their VXLAN/VLAN uplinks."""
    by_network: dict[str, list[BoundDevice]] = {}
    for device in state.devices:
        if tap_name(device.port_id) in local.kinds:
            by_network.setdefault(device.network_id, []).append(device)
    remotes = tuple(sorted({ep.ip for ep in state.tunnel_endpoints
                            if ep.ip != config.local_ip
                            and (not ep.tunnel_types or "vxlan" in ep.tunnel_types)}))
    bridges, problems, flood = [], [], {}
    for network_id, devices in sorted(by_network.items()):
        uplink, problem = _uplink(devices[0], config)
        if problem:
            problems.append(problem)
        if uplink is not None and uplink.kind == "vxlan" and config.vxlan_group is None:
            flood[uplink.name] = remotes
        bridges.append(BridgePlan(network_id, bridge_name(network_id), uplink,
                                  tuple(sorted(tap_name(d.port_id) for d in devices))))
    wanted = {b.bridge for b in bridges}
    delete_bridges, delete_links = [], []
    for link, kind in sorted(local.kinds.items()):
        if kind != "bridge" or not link.startswith(BRIDGE_PREFIX) or link in wanted:
            continue
        members = local.members(link)
        if all(_is_our_uplink(m, local.kinds.get(m, ""), config) for m in members):
            delete_bridges.append(link)
            delete_links += sorted(m for m in members
                                   if m.startswith(VXLAN_PREFIX) or local.kinds.get(m) == "vlan")
    return LinkPlan(tuple(bridges), flood, tuple(delete_bridges), tuple(delete_links),
                    tuple(problems), sum(len(b.taps) for b in bridges))


def _uplink_create(uplink: Uplink, config: L2Config) -> str:
    if uplink.kind == "vlan":
        return (f"link add link {uplink.parent} name {uplink.name} type vlan "
                f"id {uplink.segmentation_id}")
    parts = [f"link add {uplink.name} type vxlan id {uplink.segmentation_id}"]
    if config.local_ip:
        parts.append(f"local {config.local_ip}")
    if config.vxlan_group:
        parts.append(f"group {config.vxlan_group}")
        if config.vxlan_dev:
            parts.append(f"dev {config.vxlan_dev}")
    else:
        # Unicast: flood via explicit fdb entries; learning stays on for replies.
        parts.append("nolearning")
    if config.vxlan_ttl:
        parts.append(f"ttl {config.vxlan_ttl}")
    parts.append(f"dstport {config.vxlan_udp_port}")
    return " ".join(parts)


def link_commands(plan: LinkPlan, local: LocalLinks, config: L2Config
                  ) -> tuple[list[str], list[str]]:
    """(`ip -batch` lines, `bridge -batch` lines) that take `local` to `plan`."""
    ip_lines: list[str] = []
    for b in plan.bridges:
        if b.bridge not in local.kinds:
            ip_lines += [f"link add {b.bridge} type bridge", f"link set {b.bridge} up"]
        if b.uplink is not None:
            if b.uplink.kind != "flat" and b.uplink.name not in local.kinds:
                ip_lines.append(_uplink_create(b.uplink, config))
            if local.masters.get(b.uplink.name) != b.bridge:
                ip_lines.append(f"link set {b.uplink.name} master {b.bridge} up")
        for tap in b.taps:
            if local.masters.get(tap) != b.bridge:
                ip_lines.append(f"link set {tap} master {b.bridge} up")
    ip_lines += [f"link delete {link}" for link in plan.delete_links]
    ip_lines += [f"link delete {bridge}" for bridge in plan.delete_bridges]
    bridge_lines: list[str] = []
    for device, remotes in sorted(plan.flood.items()):
        have = local.flood.get(device, frozenset())
        bridge_lines += [f"fdb append {FLOOD_MAC} dev {device} dst {ip}"
                         for ip in remotes if ip not in have]
        bridge_lines += [f"fdb del {FLOOD_MAC} dev {device} dst {ip}"
                         for ip in sorted(have - set(remotes))]
    return ip_lines, bridge_lines


def wired_ports(state: L2HostState, plan: LinkPlan) -> frozenset[str]:
    """The bound ports whose tap the applied plan put into a bridge that reaches their
    segment; a network this host cannot carry (no uplink for it) wires nothing."""
    bridges = {b.network_id: b for b in plan.bridges}
    wired = set()
    for device in state.devices:
        bridge = bridges.get(device.network_id)
        if bridge is None or tap_name(device.port_id) not in bridge.taps:
            continue
        if bridge.uplink is not None or device.network_type == "local":
            wired.add(device.port_id)
    return frozenset(wired)
