"""`neutrino-lab demo`: the seed's HA walk-through, narrated, on the running lab."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from neutrino.agent import namespaces
from neutrino.cli.api import CliError, NeutronClient
from neutrino.lab import processes, runtime, vms
from neutrino.lab.topology import HostPlan

NET = "demo-net"
CIDR = "9.0.9.0/24"
VM = "demo-vm"


class DemoFailed(Exception):
    """A step did not show what the walk-through promises."""


def wait_for(what: str, condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what} did not happen within {timeout:.0f} s.")
        time.sleep(0.2)


def dnsmasq_serving(host: HostPlan, network_id: str) -> bool:
    namespace = host.dhcp_namespace(network_id)
    return namespaces.exists(namespace) and any(
        processes.alive(pid, "dnsmasq") for pid in processes.namespace_pids(namespace))


class Narrator:
    def __init__(self) -> None:
        self.start = time.monotonic()
        self.step = 0

    def say(self, text: str, command: str = "") -> None:
        self.step += 1
        print(f"\n[{time.monotonic() - self.start:5.1f}s] {self.step}. {text}")
        if command:
            print(f"    $ {command}")

    def result(self, text: str) -> None:
        print(f"    -> {text}")


def _remove_previous(client: NeutronClient, lab_dir: Path) -> None:
    if (lab_dir / "vms" / f"{VM}.json").exists():
        vms.delete(client, lab_dir, VM)
    for net in client.list_resources("networks", name=NET):
        for port in client.list_resources("ports", network_id=net["id"]):
            if port.get("device_owner") == vms.DEVICE_OWNER:
                client.delete("port", port["id"])
        client.delete("network", net["id"])


def run(client: NeutronClient, lab_dir: Path) -> int:
    """Run the walk-through; 0 when every step showed what the seed says."""
    runtime.require_root()
    plan = runtime.load(lab_dir).plan
    host_a, host_b = plan.host("HostA"), plan.host("HostB")
    say = Narrator()
    try:
        _remove_previous(client, lab_dir)
        agents = {a["host"]: a for a in client.list_resources("agents", agent_type="DHCP agent")
                  if a.get("alive")}
        if {host_a.name, host_b.name} - set(agents):
            raise DemoFailed("Both DHCP agents must be alive; see `neutrino-lab status`.")
        say.say(f"Create {NET} with a subnet and boot {VM} on HostA",
                f"neutrino net-create {NET}; neutrino subnet-create {NET} {CIDR}; "
                f"neutrino-lab vm boot --net {NET} --host HostA {VM}")
        net = client.create("network", {"name": NET})
        client.create("subnet", {"network_id": net["id"], "cidr": CIDR, "ip_version": 4})
        vm = vms.boot(client, lab_dir, NET, host_a.name, VM)
        hosting = [a["host"] for a in client.list_dhcp_agents_hosting_network(net["id"])]
        say.result(f"{VM} has port {vm.ip}; {NET} scheduled to {', '.join(hosting)}")
        say.say("Let both DHCP agents host it",
                f"neutrino dhcp-agent-network-add <agent on the other host> {NET}")
        for host in (host_a, host_b):
            if host.name not in hosting:
                client.add_network_to_dhcp_agent(agents[host.name]["id"], net["id"])
        for host in (host_a, host_b):
            wait_for(f"dnsmasq for {NET} on {host.name}",
                     lambda h=host: dnsmasq_serving(h, net["id"]))  # type: ignore[misc]
        say.result("hosted by HostA and HostB, each running dnsmasq")
        if not vms.wait_plugged(vm, host_a.namespace):
            raise DemoFailed(f"HostA's Linux bridge agent did not plug {VM}'s tap.")
        say.say(f"{VM} asks for an address", f"neutrino-lab vm dhcp {VM}")
        expect(say, vms.dhcp(lab_dir, VM), vm.ip)
        say.say("Stop HostA's DHCP agent and its dnsmasq; ask again",
                "neutrino-lab agent stop HostA --with-dnsmasq")
        runtime.stop_agent(lab_dir, host_a, runtime.DHCP)
        runtime.cleanup_dhcp(lab_dir, host_a)
        expect(say, vms.dhcp(lab_dir, VM), vm.ip, "from HostB, over VXLAN")
        say.say("Stop HostB's too; ask again", "neutrino-lab agent stop HostB --with-dnsmasq")
        runtime.stop_agent(lab_dir, host_b, runtime.DHCP)
        runtime.cleanup_dhcp(lab_dir, host_b)
        expect(say, vms.dhcp(lab_dir, VM, timeout=3), None)
        say.say("Start HostB's DHCP agent; ask again", "neutrino-lab agent start HostB")
        runtime.start_agent(lab_dir, host_b, runtime.DHCP)
        wait_for(f"HostB's dnsmasq for {NET}", lambda: dnsmasq_serving(host_b, net["id"]))
        expect(say, vms.dhcp(lab_dir, VM), vm.ip)
    except (DemoFailed, CliError) as exc:
        print(f"\nDemo stopped: {exc}")
        return 1
    finally:
        runtime.start_agent(lab_dir, host_a, runtime.DHCP)
        runtime.start_agent(lab_dir, host_b, runtime.DHCP)
        try:
            _remove_previous(client, lab_dir)
        except CliError as exc:
            print(f"Could not remove the demo's VM and network: {exc}")
    say.say("Done: HostA's agent restarted, demo VM and network deleted")
    return 0


def expect(say: Narrator, got: str | None, wanted: str | None, how: str = "") -> None:
    if got is None:
        say.result("no address: no DHCP server answered")
    else:
        say.result(f"got {got}" + (f" ({how})" if how else ""))
    if got != wanted:
        raise DemoFailed(f"expected {wanted or 'no address'}, got {got or 'none'}.")
