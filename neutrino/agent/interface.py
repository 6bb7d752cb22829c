"""Bridge interface driver: the DHCP port as a veth pair from the namespace to brq<net>."""
from __future__ import annotations

import fcntl
import logging
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from neutrino.agent import namespaces
from neutrino.agent.ip_command import CommandError, IpCommand, SharedBatch, link_exists
from neutrino.agent.naming import ns_device_name, tap_name

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RootLines:
    """A DHCP port's lines for the agent's namespace, in two `ip -batch` runs."""

    create: list[str]  # links made down
    ipv6_off: list[str]  # the links just made: IPv6 off, then up (no `ip` needed for that)
    up: list[str]  # lines for links that existed already


class BridgeInterfaceDriver:
    """tap<port> in the agent's namespace, enslaved to the bridge; ns-<port> in the DHCP
    namespace with the port's MAC and addresses (Neutron's BridgeInterfaceDriver layout)."""

    def __init__(self, ip: IpCommand) -> None:
        self.ip = ip
        # Root-namespace lines of networks plugged at the same time share one `ip`.
        self.shared = SharedBatch(ip)

    def root_lines(self, port_id: str, mac: str, bridge: str, mtu: int, namespace: str
                   ) -> RootLines:
        """What the agent's namespace needs, from what exists: links to create (down), and
        what to bring up once their IPv6 is off."""
        tap, peer = tap_name(port_id), ns_device_name(port_id)
        create: list[str] = []
        up: list[str] = []
        new: list[str] = []
        if not link_exists(bridge):
            # The L2 agent normally makes it; without one (or before it runs) we do, under
            # the same name, so whichever comes first wins and the other adopts it.
            create.append(f"link add {bridge} type bridge")
            new.append(bridge)
        elif not _flags(bridge) & _IFF_UP:
            up.append(f"link set {bridge} up")  # made by a batch that failed after it
        if link_exists(tap):
            if not _attached(tap, bridge, mtu):
                up.append(f"link set {tap} master {bridge} mtu {mtu} up")
        else:
            create.append(f"link add {tap} master {bridge} mtu {mtu} type veth peer name "
                          f"{peer} address {mac} mtu {mtu} netns {namespace}")
            new.append(tap)
        return RootLines(create, new, up)

    def _root(self, namespace: str, port_id: str, mac: str, bridge: str, mtu: int,
              run: Callable[[list[str]], None]) -> None:
        lines = self.root_lines(port_id, mac, bridge, mtu, namespace)
        run(lines.create)
        for link in lines.ipv6_off:
            # A bridge, or a port of one, needs no IPv6 of its own. With IPv6 on, bringing
            # it up adds a multicast route to the agent's namespace, and the kernel walks
            # every such route (one per link: thousands on a busy host) under the RTNL
            # lock; writing the sysctl before `up` spares that (and DAD, and addrconf).
            namespaces.set_sysctl(f"net/ipv6/conf/{link}/disable_ipv6", "1")
            # An ioctl, not a second `ip` process per plug: under load a process start
            # cost more than the rest of the root namespace's work.
            set_up(link)
        run(lines.up)

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
        namespaces.create(self.ip, namespace)
        try:
            self._root(namespace, port_id, mac, bridge, mtu, self.shared.run)
        except (CommandError, OSError):
            # One bad line fails the whole shared batch: redo ours alone, from what exists
            # now, so the error (if any) is this network's own.
            try:
                self._root(namespace, port_id, mac, bridge, mtu, self.ip.batch)
            except CommandError as exc:
                if "File exists" not in exc.stderr:
                    raise
                # Lost a race with the L2 agent creating the bridge; redo with what exists.
                self._root(namespace, port_id, mac, bridge, mtu, self.ip.batch)
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
    except (OSError, ValueError):
        return False
    return master == bridge and tap_mtu == mtu and bool(_flags(tap) & _IFF_UP)


_SIOCGIFFLAGS, _SIOCSIFFLAGS = 0x8913, 0x8914


def set_up(link: str) -> None:
    """`ip link set <link> up` in the calling thread's namespace, as one ioctl pair."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", link.encode(), 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", link.encode(),
                                                     flags | _IFF_UP))


def _flags(link: str) -> int:
    """The link's interface flags from sysfs; 0 when unreadable (which costs only a redo)."""
    try:
        with open(f"/sys/class/net/{link}/flags", encoding="ascii") as f:
            return int(f.read(), 16)
    except (OSError, ValueError):
        return 0
