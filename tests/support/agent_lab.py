"""The agent end-to-end lab: a FakeServer, real DHCP agents, VMs as namespaces, unique
names per run and cleanup even on failure (fixtures in tests/e2e/agent/conftest.py)."""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from neutrino.agent.cleanup import cleanup_dhcp
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.settings import DhcpAgentSettings, ServerAccess
from tests.support.fake_server import FakeServer
from tests.support.needs import require
from tests.support.waiting import wait_until

UDHCPC = "/usr/sbin/udhcpc"
DNSMASQ = "/usr/sbin/dnsmasq"

_CLONE_NEWNET = 0x40000000


def thread_in_netns(netns: str, target: Callable[..., object], *args: object
                    ) -> threading.Thread:
    """Run target on a thread that first enters the named namespace. Network namespaces are
    per thread, and the threads and processes it starts inherit it: this is how an agent
    runs as if started with `ip netns exec <host>` while sharing our fake server."""
    libc = ctypes.CDLL(None, use_errno=True)

    def body() -> None:
        fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            if libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {netns} failed")
        finally:
            os.close(fd)
        target(*args)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def links_with(text: str) -> list[str]:
    out = sh("ip", "-j", "link", "show").stdout
    return [link["ifname"] for link in json.loads(out) if text in link["ifname"]]


def purge(prefix: str) -> None:
    """Remove every namespace and link whose name carries this run's prefix."""
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        if prefix in name:
            sh("ip", "netns", "delete", name, check=False)
    for name in links_with(prefix):
        sh("ip", "link", "delete", name, check=False)


@dataclass
class Vm:
    namespace: str
    mac: str
    script: str

    def dhcp(self, tries: int = 3) -> str | None:
        """Run udhcpc once; the address it was offered and acked, or None."""
        proc = sh("ip", "netns", "exec", self.namespace, UDHCPC, "-i", "eth0", "-n", "-q",
                  "-t", str(tries), "-T", "1", "-f", "-s", self.script, check=False)
        for line in proc.stdout.splitlines():
            if line.startswith("BOUND "):
                return line.split()[1]
        return None


@dataclass
class Lab:
    prefix: str
    tmp: Path
    server: FakeServer = field(default_factory=FakeServer)
    vms: list[Vm] = field(default_factory=list)
    agents: list[tuple[DhcpAgent, threading.Event, threading.Thread]] = field(
        default_factory=list)
    counter: int = 0
    l2_stops: list[tuple[threading.Event, threading.Thread]] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"{self.prefix}-host"

    def net_id(self, index: int) -> str:
        # The prefix lands in brq<net-id[:11]>, so links of this run are recognisable.
        return f"{self.prefix}n{index:04d}-c7d4-4f7a-b730-549af0fb6e34"

    def port_id(self) -> str:
        self.counter += 1
        return f"{self.prefix}v{self.counter:04d}-9968-46fd-8e45-d5cf646db9d1"

    def settings(self, **changes: object) -> DhcpAgentSettings:
        base = DhcpAgentSettings(
            host=self.host, state_path=str(self.tmp), debug=True,
            server=ServerAccess("http://fake/", "u", "p"), report_interval=1,
            availability_zone="nova", interface_driver="linuxbridge", dhcp_driver="dnsmasq",
            dhcp_confs=str(self.tmp / "dhcp"), dhcp_lease_duration=120,
            dnsmasq_dns_servers=[], num_sync_threads=4, resync_interval=2,
            namespace_prefix=f"{self.prefix}-dhcp-", kill_dnsmasq_on_exit=False,
            dnsmasq_path=DNSMASQ)
        return base.replace(**changes)

    def start_agent(self, **changes: object) -> DhcpAgent:
        agent = DhcpAgent(self.settings(**changes), self.server)
        stop = threading.Event()
        thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        thread.start()
        self.agents.append((agent, stop, thread))
        wait_until(lambda: agent.heartbeat.reports > 0 and agent.synced.is_set(), 20)
        return agent

    def stop_agent(self, agent: DhcpAgent) -> None:
        for entry in self.agents:
            if entry[0] is agent:
                entry[1].set()
                entry[2].join(timeout=20)
                self.agents.remove(entry)
                return

    def add_vm(self, network_id: str, port_id: str, mac: str) -> Vm:
        from neutrino.agent.naming import bridge_name, tap_name
        bridge = bridge_name(network_id)
        wait_until(lambda: bridge in links_with(bridge), 10)
        ns = f"{self.prefix}-vm{len(self.vms)}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", tap_name(port_id), "master", bridge, "up", "type", "veth",
           "peer", "name", "eth0", "address", mac, "netns", ns)
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        script = self.tmp / "udhcpc.sh"
        if not script.exists():
            script.write_text('#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip"\nexit 0\n')
            script.chmod(0o755)
        vm = Vm(ns, mac, str(script))
        self.vms.append(vm)
        return vm


@contextlib.contextmanager
def lab_for_test() -> Iterator[Lab]:
    require("the agent end-to-end lab (namespaces, veth, dnsmasq)")
    prefix = "nt" + secrets.token_hex(2)
    # Not pytest's tmp_path: it is mode 0700 and dnsmasq, once it drops root for nobody,
    # could not reread its hosts file there.
    tmp_path = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    tmp_path.chmod(0o755)
    the_lab = Lab(prefix=prefix, tmp=tmp_path)
    try:
        yield the_lab
    finally:
        for _agent, stop, thread in list(the_lab.agents):
            stop.set()
            the_lab.server.reachable = True
            thread.join(timeout=20)
        for stop, thread in the_lab.l2_stops:
            stop.set()
            thread.join(timeout=20)
        cleanup_dhcp(str(tmp_path / "dhcp"), f"{prefix}-dhcp-")
        purge(prefix)
        shutil.rmtree(tmp_path, ignore_errors=True)
