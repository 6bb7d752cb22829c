"""Bridges, VXLAN/VLAN uplinks and taps of the Linux bridge agent: read and change them."""
from __future__ import annotations

import json
import logging

from neutrino.agent.ip_command import CommandError, IpCommand
from neutrino.agent.l2_plan import FLOOD_MAC, L2Config, LinkPlan, LocalLinks, link_commands
from neutrino.agent.naming import VXLAN_PREFIX

LOG = logging.getLogger(__name__)


class BridgeDevices:
    def __init__(self, ip: IpCommand) -> None:
        self.ip = ip

    def read(self) -> LocalLinks:
        """Every link of the agent's namespace with its kind and bridge, in two calls."""
        kinds, masters = {}, {}
        for link in json.loads(self.ip.ip("-j", "-d", "link", "show") or "[]"):
            name = link["ifname"]
            kinds[name] = link.get("linkinfo", {}).get("info_kind", "")
            if "master" in link:
                masters[name] = link["master"]
        flood: dict[str, set[str]] = {}
        if any(name.startswith(VXLAN_PREFIX) for name in kinds):
            for entry in json.loads(self.ip.bridge("-j", "fdb", "show") or "[]"):
                dev = entry.get("ifname", "")
                if dev.startswith(VXLAN_PREFIX) and entry.get("mac") == FLOOD_MAC \
                        and "dst" in entry:
                    flood.setdefault(dev, set()).add(entry["dst"])
        return LocalLinks(kinds, masters, {k: frozenset(v) for k, v in flood.items()})

    def interface_with(self, address: str) -> str | None:
        """The interface holding `address` (the VXLAN multicast group needs it as dev)."""
        for link in json.loads(self.ip.ip("-j", "addr", "show") or "[]"):
            if any(a.get("local") == address for a in link.get("addr_info", [])):
                return str(link["ifname"])
        return None

    def apply(self, plan: LinkPlan, local: LocalLinks, config: L2Config) -> None:
        ip_lines, bridge_lines = link_commands(plan, local, config)
        try:
            self.ip.batch(ip_lines)
        except CommandError as exc:
            if "File exists" not in exc.stderr:
                raise
            # The DHCP agent made a bridge meanwhile; recompute from what exists now.
            local = self.read()
            ip_lines, bridge_lines = link_commands(plan, local, config)
            self.ip.batch(ip_lines)
        if bridge_lines:
            self.ip.runner.run([self.ip.bridge_path, "-batch", "-"],
                               "".join(f"{line}\n" for line in bridge_lines))
