"""The lab's stand-in for nova: a VM is a namespace whose eth0 has its port's MAC, cabled to
tap<port-id[:11]> in its host's namespace, where the host's L2 agent plugs it in."""
from __future__ import annotations

import json
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neutrino.agent.naming import bridge_name, tap_name
from neutrino.cli import resolve
from neutrino.cli.api import NeutronClient
from neutrino.lab import runtime, wiring
from neutrino.lab.topology import LabError, check_vm_name

UDHCPC = "/usr/sbin/udhcpc"
DEVICE_OWNER = "compute:nova"
# udhcpc calls this with "bound" once the server ACKed; it only reports, it configures nothing.
UDHCPC_SCRIPT = '#!/bin/sh\n[ "$1" = bound ] && echo "BOUND $ip"\nexit 0\n'
PLUG_TIMEOUT = 15.0
# Nova's vif_plugging_timeout is 300 s; the lab's agents answer within seconds.
ACTIVE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Vm:
    name: str
    id: str          # nova's instance id: the port's device_id
    port_id: str
    network_id: str
    network: str
    host: str
    namespace: str
    mac: str
    ip: str


def _vm_file(lab_dir: Path, name: str) -> Path:
    return lab_dir / "vms" / f"{name}.json"


def load_vm(lab_dir: Path, name: str) -> Vm:
    try:
        return Vm(**json.loads(_vm_file(lab_dir, name).read_text()))
    except FileNotFoundError:
        raise LabError(f"There is no VM {name!r} in this lab; `neutrino-lab vm list` shows "
                       "the VMs.") from None


def wait_plugged(vm: Vm, host_namespace: str, timeout: float = PLUG_TIMEOUT) -> bool:
    """True once the host's L2 agent has put the VM's tap into the network's bridge."""
    deadline = time.monotonic() + timeout
    bridge = bridge_name(vm.network_id)
    while time.monotonic() < deadline:
        if wiring.link_master(tap_name(vm.port_id), host_namespace) == bridge:
            return True
        time.sleep(0.1)
    return False


def wait_active(client: NeutronClient, vm: Vm, timeout: float = ACTIVE_TIMEOUT) -> str:
    """Wait, as nova does for network-vif-plugged, until the VM's port is ACTIVE (wired on
    its host and loaded by the network's DHCP agents); its last status."""
    deadline = time.monotonic() + timeout
    while True:
        status = str(client.show("port", vm.port_id).get("status", ""))
        if status == "ACTIVE" or time.monotonic() >= deadline:
            return status
        time.sleep(0.2)


def not_active_message(vm: Vm, status: str, timeout: float) -> str:
    """What an operator reads when the port did not turn ACTIVE in time."""
    return (f"{vm.name}: port {vm.port_id} is still {status or 'without a status'} after "
            f"{timeout:g} s. It turns ACTIVE once {vm.host}'s Linux bridge agent has wired "
            f"its tap and every DHCP agent hosting {vm.network} has loaded it: see "
            f"`neutrino-lab status` and `neutrino dhcp-agent-list-hosting-net {vm.network}`. "
            f"The VM is left in place (`neutrino-lab vm delete {vm.name}`).")


def boot(client: NeutronClient, lab_dir: Path, network: str, host_name: str,
         name: str, fixed_ip: str | None = None) -> Vm:
    """Create the VM's port (bound to the host, as nova would) and its namespace; with
    `fixed_ip`, the port asks for that address (`--fixed-ip ip_address=...`)."""
    runtime.require_root()
    check_vm_name(name)
    plan = runtime.load(lab_dir).plan
    host = plan.host(host_name)
    namespace = plan.vm_namespace(name)
    if _vm_file(lab_dir, name).exists() or wiring.namespace_exists(namespace):
        raise LabError(f"A VM named {name!r} exists already; delete it first "
                       f"(`neutrino-lab vm delete {name}`).")
    net = resolve.find(client, "network", network)
    fields: dict[str, Any] = {"network_id": net["id"], "name": name,
                              "device_owner": DEVICE_OWNER, "device_id": str(uuid.uuid4()),
                              "binding:host_id": host.name}
    if fixed_ip is not None:
        fields["fixed_ips"] = [{"ip_address": fixed_ip}]
    port = client.create("port", fields)
    try:
        wiring.make_vm(host, namespace, tap_name(port["id"]), port["mac_address"])
    except LabError:
        client.delete("port", port["id"])
        raise
    ips = [f["ip_address"] for f in port.get("fixed_ips", [])]
    vm = Vm(name=name, id=port["device_id"], port_id=port["id"], network_id=net["id"],
            network=net.get("name") or net["id"], host=host.name, namespace=namespace,
            mac=port["mac_address"], ip=ips[0] if ips else "")
    _vm_file(lab_dir, name).parent.mkdir(parents=True, exist_ok=True)
    _vm_file(lab_dir, name).write_text(json.dumps(asdict(vm), indent=2) + "\n")
    return vm


def dhcp(lab_dir: Path, name: str, timeout: int = 10) -> str | None:
    """Run udhcpc in the VM until it gets a lease or `timeout` seconds of DISCOVERs pass;
    the leased address, or None."""
    vm = load_vm(lab_dir, name)
    script = lab_dir / "udhcpc.sh"
    if not script.exists():
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
    # -n: give up instead of backgrounding; -q: quit once leased; -f: stay in the foreground;
    # -t/-T: one DISCOVER a second for `timeout` seconds.
    proc = subprocess.run(["ip", "netns", "exec", vm.namespace, UDHCPC, "-i", "eth0", "-n",
                           "-q", "-f", "-t", str(max(1, timeout)), "-T", "1",
                           "-s", str(script)],
                          capture_output=True, text=True, check=False, timeout=timeout + 30)
    for line in proc.stdout.splitlines():
        if line.startswith("BOUND "):
            return line.split()[1]
    return None


def delete(client: NeutronClient, lab_dir: Path, name: str) -> Vm:
    vm = load_vm(lab_dir, name)
    for port in client.list_resources("ports", device_id=vm.id):
        client.delete("port", port["id"])
    wiring.delete_namespace(vm.namespace)
    _vm_file(lab_dir, name).unlink(missing_ok=True)
    return vm


def list_rows(client: NeutronClient, lab_dir: Path) -> list[tuple[str, str, str, str]]:
    """(ID, Name, Status, Networks) per VM, from the compute:nova ports, like `nova list`."""
    ports = client.list_resources("ports", device_owner=DEVICE_OWNER)
    names = {n["id"]: n.get("name") or n["id"] for n in client.list_resources("networks")}
    prefix = runtime.load(lab_dir).prefix
    by_vm: dict[str, list[dict[str, Any]]] = {}
    for port in ports:
        by_vm.setdefault(port["device_id"], []).append(port)
    rows = []
    for device_id, vm_ports in by_vm.items():
        name = vm_ports[0].get("name") or device_id
        status = "ACTIVE" if wiring.namespace_exists(f"{prefix}vm-{name}") else "SHUTOFF"
        nets = "; ".join(
            f"{names.get(p['network_id'], p['network_id'])}="
            + ", ".join(f["ip_address"] for f in p.get("fixed_ips", []))
            for p in vm_ports)
        rows.append((device_id, name, status, nets))
    return sorted(rows, key=lambda r: r[1])
