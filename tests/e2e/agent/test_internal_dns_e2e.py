"""Internal DNS: VMs (namespaces, udhcpc, busybox nslookup) resolve each other's names through
the DHCP port of a real DHCP agent's dnsmasq, fed by a real neutrino-server; nothing else is
forwarded when no dnsmasq_dns_servers are set, and the rest goes to them when they are."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neutrino.agent import dnsmasq, pids
from neutrino.agent.dhcp_agent import DhcpAgent
from neutrino.agent.naming import bridge_name
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agent_lab import Lab, sh
from tests.support.server import USERS, RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

BUSYBOX = "/usr/bin/busybox"
CIDR = "9.0.33.0/24"
DOMAIN = "example.org"
# What udhcpc hands its script: the offered address and option 6 (the DNS servers).
SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip DNS $dns"\nexit 0\n'


@pytest.fixture
def server(lab: Lab) -> Iterator[RunningServer]:
    settings = settings_for(f"sqlite:///{lab.tmp}/neutrino.db", str(lab.tmp / "server"),
                            agent_down_time=5, dns_domain=DOMAIN + ".")
    with running_server(settings) as running:
        yield running


def dhcp_with_dns(lab: Lab, namespace: str) -> tuple[str, list[str]]:
    """udhcpc in the VM: its address and DNS servers; the address is then set on eth0."""
    script = lab.tmp / "udhcpc-dns.sh"
    if not script.exists():
        script.write_text(SCRIPT)
        script.chmod(0o755)
    proc = sh("ip", "netns", "exec", namespace, "/usr/sbin/udhcpc", "-i", "eth0", "-n", "-q",
              "-t", "5", "-T", "1", "-f", "-s", str(script), check=False)
    found = [line.split() for line in proc.stdout.splitlines() if line.startswith("BOUND ")]
    assert found, proc.stdout + proc.stderr
    ip, servers = found[0][1], found[0][3:]
    sh("ip", "-n", namespace, "addr", "add", f"{ip}/24", "dev", "eth0")
    return ip, servers


def nslookup(namespace: str, name: str, server: str) -> tuple[list[str], str, float]:
    """busybox nslookup in the VM: the IPv4 answers, the whole output, and the seconds taken."""
    start = time.monotonic()
    proc = subprocess.run(["ip", "netns", "exec", namespace, BUSYBOX, "nslookup",
                           "-type=a", name, server],
                          capture_output=True, text=True, timeout=60, check=False)
    took = time.monotonic() - start
    out = proc.stdout + proc.stderr
    # busybox prints the server first ("Server: … Address: …#53"), then the answers.
    answers = out.split("Name:", 1)[1] if "Name:" in out else ""
    return re.findall(r"Address: (\d+\.\d+\.\d+\.\d+)\s*$", answers, re.M), out, took


def test_vms_resolve_each_other_and_other_names_go_only_to_dnsmasq_dns_servers(
        lab: Lab, server: RunningServer) -> None:
    if not Path(BUSYBOX).exists():
        pytest.fail(f"{BUSYBOX} (Debian busybox, for nslookup) is missing")
    name, password, project = USERS["agent"]
    client = HttpAgentClient(server.url, name, password, project)
    # No dnsmasq_dns_servers, no dnsmasq_local_resolv: the default, forwarding nothing.
    agent = DhcpAgent(lab.settings(dns_domain=DOMAIN), client)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    admin = server.client("admin")
    net_id = ""
    try:
        assert agent.synced.wait(20)
        net_id = admin.post("/v2.0/networks", json={"network": {"name": "dns"}}
                            ).json()["network"]["id"]
        admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": CIDR}}).raise_for_status()
        plain = admin.post("/v2.0/ports", json={"port": {"network_id": net_id}}).json()["port"]
        named = admin.post("/v2.0/ports", json={"port": {
            "network_id": net_id, "dns_name": "db-1"}}).json()["port"]
        wait_until(lambda: net_id in agent.applied and len(agent.applied[net_id].network.ports)
                   >= 3, 30)
        dhcp_ip = agent.applied[net_id].dhcp_port.fixed_ips[0].ip_address

        vm_a = lab.add_vm(net_id, plain["id"], plain["mac_address"])
        vm_b = lab.add_vm(net_id, named["id"], named["mac_address"])
        ip_a, dns_a = dhcp_with_dns(lab, vm_a.namespace)
        ip_b, dns_b = dhcp_with_dns(lab, vm_b.namespace)
        assert (ip_a, ip_b) == (plain["fixed_ips"][0]["ip_address"],
                                named["fixed_ips"][0]["ip_address"])
        # The subnet has no dns_nameservers: DHCP hands out the DHCP port itself.
        assert dns_a == dns_b == [dhcp_ip]

        host_a = "host-" + ip_a.replace(".", "-")
        assert plain["dns_assignment"][0]["fqdn"] == f"{host_a}.{DOMAIN}."
        answers, out, _ = nslookup(vm_b.namespace, f"{host_a}.{DOMAIN}", dhcp_ip)
        assert answers == [ip_a], out
        answers, out, _ = nslookup(vm_a.namespace, f"db-1.{DOMAIN}", dhcp_ip)
        assert answers == [ip_b], out
        answers, out, _ = nslookup(vm_a.namespace, "db-1", dhcp_ip)
        assert answers == [ip_b], out

        # An outside name is not forwarded: refused at once, not a timeout upstream.
        answers, out, took = nslookup(vm_a.namespace, "www.debian.org", dhcp_ip)
        print(f"outside name answered in {took:.2f} s: {out.strip().splitlines()[-1]}")
        assert answers == [] and "REFUSED" in out, out
        assert took < 10
        pid = dnsmasq.running_pid(agent.networks.paths(net_id))
        assert pid is not None
        argv = pids.cmdline(pid)
        assert "--no-resolv" in argv and not any(a.startswith("--server") for a in argv)
        # Port 53 is bound inside the namespace on the DHCP port's address, nowhere else.
        inside = sh("ip", "netns", "exec", agent.networks.namespace(net_id), "ss", "-lnup",
                    "sport", "= :53").stdout
        assert f"{dhcp_ip}:53" in inside and f"pid={pid}," in inside, inside
        root = sh("ss", "-lnup", "sport", "= :53").stdout
        assert f"pid={pid}," not in root, root

        # A new dns_name reaches the running dnsmasq (files + SIGHUP, same process).
        admin.put(f"/v2.0/ports/{named['id']}", json={"port": {"dns_name": "db-2"}}
                  ).raise_for_status()
        wait_until(lambda: nslookup(vm_a.namespace, f"db-2.{DOMAIN}", dhcp_ip)[0] == [ip_b],
                   30, interval=0.3)
        assert nslookup(vm_a.namespace, f"db-1.{DOMAIN}", dhcp_ip)[0] == []
        assert dnsmasq.running_pid(agent.networks.paths(net_id)) == pid

        # dnsmasq_dns_servers: other names go there. The "upstream" is a second dnsmasq on
        # the namespace's loopback, so that no query leaves the machine.
        namespace = agent.networks.namespace(net_id)
        upstream_pid = lab.tmp / "upstream.pid"
        sh("ip", "netns", "exec", namespace, "/usr/sbin/dnsmasq", "--conf-file=/dev/null",
           "--no-resolv", "--no-hosts", "--interface=lo", "--bind-interfaces", "--port=5353",
           f"--pid-file={upstream_pid}", "--address=/outside.test/192.0.2.99")
        stop.set()
        thread.join(20)
        client.close()
        client = HttpAgentClient(server.url, name, password, project)
        agent = DhcpAgent(lab.settings(dns_domain=DOMAIN,
                                       dnsmasq_dns_servers=["127.0.0.1#5353"]), client)
        stop = threading.Event()
        thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
        thread.start()
        paths = agent.networks.paths(net_id)
        # Another command line: the new agent restarts dnsmasq instead of adopting it.
        wait_until(lambda: (p := dnsmasq.running_pid(paths)) is not None and p != pid
                   and "--server=127.0.0.1#5353" in pids.cmdline(p), 30)
        answers, out, _ = nslookup(vm_a.namespace, "outside.test", dhcp_ip)
        assert answers == ["192.0.2.99"], out
        # The network's own names are still answered locally.
        assert nslookup(vm_a.namespace, f"db-2.{DOMAIN}", dhcp_ip)[0] == [ip_b]
    finally:
        stop.set()
        thread.join(20)
        client.close()
        admin.close()
        if (lab.tmp / "upstream.pid").exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int((lab.tmp / "upstream.pid").read_text().strip()), signal.SIGTERM)
        if net_id:
            # Server-made ids carry no run prefix: remove this network's bridge by name.
            sh("ip", "link", "delete", bridge_name(net_id), check=False)
