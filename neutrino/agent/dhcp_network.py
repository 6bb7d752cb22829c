"""Bring one network's DHCP (port, namespace, files, dnsmasq) to its desired state."""
from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from neutrino.agent import dnsmasq, namespaces, pids, releases
from neutrino.agent import metrics as agent_metrics
from neutrino.agent.changes import (
    Action,
    Applied,
    classify,
    dhcp_port_covers,
    find_dhcp_port,
    interface_cidrs,
    wants_dhcp,
)
from neutrino.agent.dnsmasq_config import (
    DOMAIN,
    ConfPaths,
    DnsmasqFiles,
    DnsmasqOptions,
    DnsService,
    dhcp_subnets,
    dnsmasq_argv,
    render_files,
    render_leases,
)
from neutrino.agent.interface import BridgeInterfaceDriver
from neutrino.agent.naming import bridge_name, dhcp_device_id, namespace_name, ns_device_name
from neutrino.agent_protocol.messages import DhcpPortRequest, NetworkInfo, PortInfo
from neutrino.neutron_names import DEVICE_OWNER_DHCP
from neutrino.transport.client import AgentRefused, AgentServerClient, TransportError

LOG = logging.getLogger(__name__)
# Port ids per dhcp_ready_on_ports call (about 40 bytes each on the wire).
READY_BATCH = 1000


def _unobserved(network_id: str, what: str) -> None:
    return None


@dataclass(frozen=True)
class DhcpLayout:
    """Where and how this agent runs dnsmasq: the parts of its settings a network needs."""

    host: str
    dhcp_confs: str
    namespace_prefix: str
    lease_duration: int
    dns_servers: list[str] = field(default_factory=list)
    dnsmasq_path: str = "dnsmasq"
    dns_domain: str = DOMAIN
    dns_local_resolv: bool = False
    dhcp_release_path: str = "dhcp_release"
    dnsmasq: DnsmasqOptions = field(default_factory=DnsmasqOptions)


class NetworkDhcp:
    """Converges one network at a time; callers serialise calls per network."""

    def __init__(self, layout: DhcpLayout, client: AgentServerClient,
                 interface: BridgeInterfaceDriver,
                 clock: Callable[[], float] = time.time,
                 on_dnsmasq: Callable[[str, str], None] = _unobserved) -> None:
        self.layout = layout
        self.client = client
        self.interface = interface
        self.clock = clock
        # Told (network id, what) of every dnsmasq start, restart or reload (agent/metrics.py).
        self.on_dnsmasq = on_dnsmasq
        self._unreported: set[str] = set()  # networks whose last dhcp_ready_on_ports failed
        # One thread sends those reports in order, off the network's lock: under churn the
        # server's answer took as long as the rest of a reload and delayed the next one.
        self._ready_sender = ThreadPoolExecutor(1, thread_name_prefix="dhcp-ready")

    def paths(self, network_id: str) -> ConfPaths:
        return ConfPaths.for_network(self.layout.dhcp_confs, network_id)

    def namespace(self, network_id: str) -> str:
        return namespace_name(self.layout.namespace_prefix, network_id)

    def device_id(self, network_id: str) -> str:
        return dhcp_device_id(self.layout.host, network_id)

    def converge(self, network_id: str, network: NetworkInfo | None,
                 applied: Applied | None) -> Applied | None:
        """Apply `network` (None: not hosted here any more); returns what is now applied."""
        if not wants_dhcp(network):
            self.teardown(network_id, applied, release=True)
            return None
        assert network is not None
        port = self._ensure_dhcp_port(network)
        ports = [p for p in network.ports if p.id != port.id] + [port]
        # A DHCP port created just now is not in what the server sent; count it as served.
        network = network.model_copy(update={"ports": ports})
        files = render_files(network, ports, port, self.layout.dns_domain)
        action = classify(applied, network, port, files)
        paths = self.paths(network_id)
        running = dnsmasq.running_pid(paths)
        cause = agent_metrics.RESTART_CHANGED
        if action in (Action.NOTHING, Action.RELOAD) and running is None:
            LOG.warning("dnsmasq of network %s is not running; restarting it", network_id)
            action, cause = Action.RESTART, agent_metrics.RESTART_DIED
        # START and RESTART seed a fresh leases file from `ports` before dnsmasq starts, so
        # a pair it no longer serves cannot survive them; only a dnsmasq that keeps running
        # (adopted, reloaded or untouched) may still hold one and needs releases.
        keeps_running = action in (Action.NOTHING, Action.RELOAD)
        if action is Action.START:
            keeps_running = self._start(network, port, ports, files, running)
        elif action is Action.RESTART:
            LOG.info("network %s: restarting dnsmasq (subnets, DHCP port or MTU changed)",
                     network_id)
            dnsmasq.stop(paths)
            self._plug(network, port, flush=True)
            self._write_files(paths, files)
            self._spawn(network, port, ports, seed_leases=True)
            self.on_dnsmasq(network_id, cause)
        elif action is Action.RELOAD:
            self._write_files(paths, files)
            if running is not None:
                dnsmasq.reload(running)
                self.on_dnsmasq(network_id, agent_metrics.RELOAD)
            LOG.info("network %s: dnsmasq reloaded (%d ports)", network_id, len(ports))
        if keeps_running:
            self._release_stale(network, port, ports, applied)
        if action is not Action.NOTHING:
            # After a reload only the ports that are new to dnsmasq: the others were
            # reported when they were (unless that report was lost).
            known = ({p.id for p in applied.network.ports}
                     if applied is not None and action is Action.RELOAD
                     and network_id not in self._unreported else set())
            self._report_ready(network, port, known)
        return Applied(network=network, dhcp_port=port, files=files)

    def _release_stale(self, network: NetworkInfo, port: PortInfo, ports: list[PortInfo],
                       applied: Applied | None) -> None:
        """Make the running dnsmasq forget every lease its new hosts file no longer lists.

        Called after the hosts file was rewritten and SIGHUP sent: dnsmasq handles the
        signal (through its self-pipe) before the release packet, which takes a process
        start to arrive, so a renewal from the old MAC in between is refused, not renewed.
        """
        paths = self.paths(network.id)
        held = releases.parse_leases_file(_read(paths.leases))
        if applied is not None:
            held |= releases.served_leases(applied.network, applied.network.ports)
        stale = releases.stale_leases(held, releases.served_leases(network, ports))
        if not stale:
            return
        try:
            dnsmasq.release(self.namespace(network.id), ns_device_name(port.id),
                            [(lease.ip, lease.mac) for lease in stale],
                            self.layout.dhcp_release_path)
        except dnsmasq.ReleaseFailed as exc:
            # The lease must go, or the address's next owner gets nothing until it expires:
            # a restart on a freshly seeded leases file does it at the cost of a short gap.
            LOG.warning("network %s: %s; restarting dnsmasq on a fresh leases file instead",
                        network.id, exc)
            dnsmasq.stop(paths)
            self._spawn(network, port, ports, seed_leases=True)
            self.on_dnsmasq(network.id, agent_metrics.RESTART_RELEASE)
            return
        LOG.info("network %s: released %s", network.id,
                 ", ".join(f"{lease.ip} of {lease.mac}" for lease in stale))

    def _start(self, network: NetworkInfo, port: PortInfo, ports: list[PortInfo],
               files: DnsmasqFiles, running: int | None) -> bool:
        """Start dnsmasq, or adopt the one already running; True if it was adopted."""
        paths = self.paths(network.id)
        argv = self._argv(network, port)
        if running is not None and pids.cmdline(running)[1:] == argv[1:]:
            # A dnsmasq left by a previous agent run with the same command line: keep it, so
            # no DHCP request goes unanswered across an agent restart.
            self._plug(network, port, flush=False)
            if self._write_files(paths, files):
                dnsmasq.reload(running)
                self.on_dnsmasq(network.id, agent_metrics.RELOAD)
            self.on_dnsmasq(network.id, agent_metrics.ADOPT)
            LOG.info("network %s: adopted running dnsmasq %d", network.id, running)
            return True
        if running is not None:
            dnsmasq.stop(paths)
        self._plug(network, port, flush=True)
        self._write_files(paths, files)
        self._spawn(network, port, ports, seed_leases=True)
        self.on_dnsmasq(network.id, agent_metrics.START)
        LOG.info("network %s: dnsmasq started in %s serving %d ports", network.id,
                 self.namespace(network.id), len(ports))
        return False

    def _argv(self, network: NetworkInfo, port: PortInfo, reply_delay: int = 0) -> list[str]:
        dns = DnsService(self.layout.dns_domain, tuple(self.layout.dns_servers),
                         self.layout.dns_local_resolv)
        return dnsmasq_argv(network, self.paths(network.id), ns_device_name(port.id),
                            self.layout.lease_duration, self.layout.dnsmasq_path, dns,
                            self.layout.dnsmasq, reply_delay)

    def hand_over(self, network_id: str, applied: Applied, reply_delay: int) -> bool:
        """Restart the network's dnsmasq with its offers delayed (changes.handover_reply_delay
        says why), on the same port, files and leases; False if no dnsmasq runs to keep."""
        paths = self.paths(network_id)
        if dnsmasq.running_pid(paths) is None:
            return False
        dnsmasq.stop(paths)
        # The leases file is kept as it is: what this dnsmasq granted it still renews.
        dnsmasq.spawn(self.namespace(network_id),
                      self._argv(applied.network, applied.dhcp_port, reply_delay))
        return True

    def _plug(self, network: NetworkInfo, port: PortInfo, flush: bool) -> None:
        self.interface.plug(self.namespace(network.id), port.id, port.mac_address,
                            interface_cidrs(port, network), bridge_name(network.id),
                            network.mtu, flush=flush)

    def _spawn(self, network: NetworkInfo, port: PortInfo, ports: list[PortInfo],
               seed_leases: bool) -> None:
        paths = self.paths(network.id)
        if seed_leases:
            _write_atomic(paths.leases, render_leases(network, ports, int(self.clock()),
                                                      self.layout.lease_duration))
        dnsmasq.spawn(self.namespace(network.id), self._argv(network, port))

    def _write_files(self, paths: ConfPaths, files: DnsmasqFiles) -> bool:
        """Write what changed; returns whether anything did."""
        os.makedirs(paths.directory, exist_ok=True)
        changed = False
        for path, text in ((paths.hosts, files.hosts), (paths.addn_hosts, files.addn_hosts),
                           (paths.opts, files.opts)):
            changed |= _write_atomic(path, text)
        return changed

    def _ensure_dhcp_port(self, network: NetworkInfo) -> PortInfo:
        device_id = self.device_id(network.id)
        port = find_dhcp_port(network, device_id)
        if port is not None and dhcp_port_covers(port, network):
            return port
        request = DhcpPortRequest(network_id=network.id, device_id=device_id,
                                  host=self.layout.host,
                                  subnet_ids=[s.id for s in dhcp_subnets(network)])
        if port is None:
            port = self.client.create_dhcp_port(request)
            LOG.info("network %s: DHCP port %s (%s) created", network.id, port.id,
                     port.mac_address)
        else:
            port = self.client.update_dhcp_port(port.id, request)
        if port.device_owner and port.device_owner != DEVICE_OWNER_DHCP:
            LOG.warning("network %s: DHCP port %s has device_owner %s", network.id, port.id,
                        port.device_owner)
        return port

    def close(self) -> None:
        """Stop sending reports; one still queued is dropped (a status hint: the next start
        reports every port again), so that a stop never waits on an unreachable server."""
        self._ready_sender.shutdown(wait=True, cancel_futures=True)

    def _report_ready(self, network: NetworkInfo, port: PortInfo, known: set[str]) -> None:
        """Tell the server dnsmasq serves the network's ports, but those in `known`."""
        port_ids = [p.id for p in network.ports if p.id != port.id and p.id not in known]
        if port_ids:
            self._ready_sender.submit(self._send_ready, network.id, port_ids)

    def _send_ready(self, network_id: str, port_ids: list[str]) -> None:
        try:
            # In slices: one request body stays well below the server's body size limit.
            for start in range(0, len(port_ids), READY_BATCH):
                self.client.dhcp_ready_on_ports(port_ids[start:start + READY_BATCH])
        except (TransportError, AgentRefused) as exc:
            # Only a status hint for the server; DHCP already serves these ports. The next
            # change reports them all again.
            LOG.debug("network %s: dhcp_ready_on_ports not delivered: %s", network_id, exc)
            self._unreported.add(network_id)
            return
        self._unreported.discard(network_id)

    def teardown(self, network_id: str, applied: Applied | None, release: bool) -> None:
        """Stop dnsmasq, delete tap and namespace, forget the files; release the port."""
        paths = self.paths(network_id)
        namespace = self.namespace(network_id)
        if applied is None and not os.path.exists(namespaces.netns_path(namespace)) \
                and not os.path.isdir(paths.directory):
            return
        dnsmasq.stop(paths)
        if applied is not None:
            self.interface.unplug(namespace, applied.dhcp_port.id)
        else:
            # The namespace takes the veth pair, tap end included, with it.
            namespaces.delete(self.interface.ip, namespace)
        shutil.rmtree(paths.directory, ignore_errors=True)
        if release:
            try:
                self.client.release_dhcp_port(network_id, self.device_id(network_id),
                                              self.layout.host)
            except TransportError as exc:
                # The server deletes DHCP ports of unhosted networks itself; not fatal.
                LOG.warning("network %s: could not release DHCP port: %s", network_id, exc)
        LOG.info("network %s: DHCP removed from this host", network_id)


def unreadable_by_dnsmasq(directory: str) -> str | None:
    """The first directory on the way to `directory` that others cannot traverse, if any:
    dnsmasq drops root for nobody before it reads its hosts and opts files."""
    path = os.path.abspath(directory)
    while True:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = 0o755  # created later with the default umask
        if not mode & 0o001:
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _write_atomic(path: str, text: str) -> bool:
    """Replace a file in one rename, so dnsmasq never reads half of it; False if unchanged."""
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return True
