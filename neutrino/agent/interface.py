"""Bridge interface driver: the DHCP port as a veth pair from the namespace to brq<net>."""
from __future__ import annotations

import logging
import os

from neutrino.agent import namespaces
from neutrino.agent.ip_command import CommandError, IpCommand, SharedBatch, link_exists
from neutrino.agent.naming import ns_device_name, tap_name

LOG = logging.getLogger(__name__)


class BridgeInterfaceDriver:
    """tap<port> in the agent's namespace, enslaved to the bridge; ns-<port> in the DHCP
    namespace with the port's MAC and addresses (Neutron's BridgeInterfaceDriver layout)."""

    def __init__(self, ip: IpCommand) -> None:
        self.ip = ip
        # Root-namespace lines of networks plugged at the same time share one `ip`.
        self.shared = SharedBatch(ip)

    def root_lines(self, namespace: str, port_id: str, mac: str, bridge: str,
                   mtu: int) -> list[str]:
        """Batch lines for the agent's namespace; skips what already exists."""
        tap, peer = tap_name(port_id), ns_device_name(port_id)
        lines = []
        if not namespaces.exists(namespace):
            lines += namespaces.add_lines(namespace)
        # addrgenmode none before up: a bridge port, or a bridge only switching, needs no
        # IPv6 address, and every link-local address costs the kernel's addrconf worker
        # (under the RTNL lock) duplicate address detection: with thousands of networks
        # on a host that work slowed every other `ip` call down.
        if not link_exists(bridge):
            # The L2 agent normally makes it; without one (or before it runs) we do, under
            # the same name, so whichever comes first wins and the other adopts it.
            lines += [f"link add {bridge} type bridge", f"link set {bridge} addrgenmode none",
                      f"link set {bridge} up"]
        if link_exists(tap):
            if not _attached(tap, bridge, mtu):
                lines.append(f"link set {tap} master {bridge} mtu {mtu} up")
        else:
            lines += [f"link add {tap} master {bridge} mtu {mtu} type veth peer name "
                      f"{peer} address {mac} mtu {mtu} netns {namespace}",
                      f"link set {tap} addrgenmode none", f"link set {tap} up"]
        return lines

    @staticmethod
    def namespace_lines(port_id: str, mac: str, cidrs: list[str], mtu: int,
                        flush: bool) -> list[str]:
        """Batch lines run inside the DHCP namespace."""
        peer = ns_device_name(port_id)
        lines = ["link set lo up"]
        if flush:
            # Global scope only: the kernel makes the link-local address (which DHCPv6
            # answers from) once, when the link comes up, and would not make it again.
            lines.append(f"addr flush dev {peer} scope global")
        lines.append(f"link set {peer} address {mac} mtu {mtu}")
        # nodad: the address is ours by allocation, and dnsmasq cannot answer DHCPv6 from a
        # tentative one during the second duplicate address detection takes.
        lines += [f"addr replace {cidr} dev {peer}" + (" nodad" if ":" in cidr else "")
                  for cidr in cidrs]
        lines.append(f"link set {peer} up")
        return lines

    def plug(self, namespace: str, port_id: str, mac: str, cidrs: list[str], bridge: str,
             mtu: int, flush: bool = False) -> None:
        if not namespaces.add_lines(namespace):
            namespaces.create(self.ip, namespace)
        try:
            self.shared.run(self.root_lines(namespace, port_id, mac, bridge, mtu))
        except (CommandError, OSError):
            # One bad line fails the whole shared batch: redo ours alone, from what exists
            # now, so the error (if any) is this network's own.
            try:
                self.ip.batch(self.root_lines(namespace, port_id, mac, bridge, mtu))
            except CommandError as exc:
                if "File exists" not in exc.stderr:
                    raise
                # Lost a race with the L2 agent creating the bridge; redo with what exists.
                self.ip.batch(self.root_lines(namespace, port_id, mac, bridge, mtu))
        with namespaces.entered(namespace):
            if any(":" in cidr for cidr in cidrs):
                conf = f"net/ipv6/conf/{ns_device_name(port_id)}"
                # A host may disable IPv6 by default; this port serves DHCPv6. The
                # link-local address DHCPv6 answers from must not wait for DAD either.
                namespaces.set_sysctl(f"{conf}/disable_ipv6", "0")
                namespaces.set_sysctl(f"{conf}/accept_dad", "0")
            self.ip.batch(self.namespace_lines(port_id, mac, cidrs, mtu, flush))

    def unplug(self, namespace: str, port_id: str) -> None:
        """Delete the veth pair (both ends go together) and the namespace."""
        if link_exists(tap_name(port_id)):
            self.ip.batch([f"link delete {tap_name(port_id)}"])
        namespaces.delete(self.ip, namespace)


_IFF_UP = 0x1


def _attached(tap: str, bridge: str, mtu: int) -> bool:
    """Whether the tap is already up in the bridge with this MTU, read from sysfs (no fork):
    an agent restart adopting thousands of networks then runs no `ip` in the agent's
    namespace. Anything unreadable counts as not attached, which only costs a redo."""
    base = f"/sys/class/net/{tap}"
    try:
        master = os.path.basename(os.readlink(f"{base}/master"))
        with open(f"{base}/mtu", encoding="ascii") as f:
            tap_mtu = int(f.read())
        with open(f"{base}/flags", encoding="ascii") as f:
            flags = int(f.read(), 16)
    except (OSError, ValueError):
        return False
    return master == bridge and tap_mtu == mtu and bool(flags & _IFF_UP)
