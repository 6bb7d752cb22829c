"""The stock `openstack` command (python-openstackclient) against the real server: ports with
--extra-dhcp-option. One database (SQLite): what is checked is the client's dialect, and
every `openstack` run costs seconds of start-up."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.agents import agent_client, dhcp_state, l2_state
from tests.support.needs import not_run
from tests.support.server import USERS, RunningServer, running_server, settings_for

OPENSTACK = shutil.which("openstack", path=str(Path(sys.executable).parent)) or \
    shutil.which("openstack")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    if OPENSTACK is None:
        not_run("the openstack command (python-openstackclient, test extra) is missing")
    tmp = tmp_path_factory.mktemp("osc")
    settings = settings_for(f"sqlite:///{tmp}/neutrino.db", str(tmp / "state"))
    with running_server(settings) as running:
        yield running


def openstack(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    user, password, project = USERS["admin"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=f"{server.url}/v3", OS_IDENTITY_API_VERSION="3",
               OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=project,
               OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default")
    assert OPENSTACK is not None
    return subprocess.run([OPENSTACK, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def ok_json(server: RunningServer, *args: str) -> Any:
    proc = openstack(server, *args, "-f", "json")
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return json.loads(proc.stdout)


def opts(port: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(o["opt_name"], o["opt_value"], o["ip_version"]) for o in port["extra_dhcp_opts"]}


def test_port_create_and_set_with_extra_dhcp_options(server: RunningServer) -> None:
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "osc-net"}}).json()["network"]
        c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"],
                                                 "cidr": "10.62.0.0/24"}}).raise_for_status()
    created = ok_json(server, "port", "create", "--network", net["id"],
                      "--extra-dhcp-option", "name=bootfile-name,value=pxelinux.0",
                      "--extra-dhcp-option", "name=tftp-server,value=192.0.2.9,ip-version=4",
                      "osc-port")
    with server.client() as c:
        port = c.get(f"/v2.0/ports/{created['id']}").json()["port"]
    assert opts(port) == {("bootfile-name", "pxelinux.0", 4), ("tftp-server", "192.0.2.9", 4)}

    # name= without value= sends no opt_value: that option is deleted.
    proc = openstack(server, "port", "set", "--extra-dhcp-option",
                     "name=bootfile-name,value=ipxe.efi", "--extra-dhcp-option",
                     "name=mtu,value=1400", "--extra-dhcp-option", "name=tftp-server",
                     "osc-port")
    assert proc.returncode == 0, proc.stderr
    shown = ok_json(server, "port", "show", "osc-port")  # the client reads them back too
    assert shown["id"] == created["id"]
    assert opts(shown) == {("bootfile-name", "ipxe.efi", 4), ("mtu", "1400", 4)}
    # Merged as Neutron does: an option the next update does not name stays.
    proc = openstack(server, "port", "set", "--extra-dhcp-option", "name=67,value=grub.efi",
                     "osc-port")
    assert proc.returncode == 0, proc.stderr
    with server.client() as c:
        port = c.get(f"/v2.0/ports/{created['id']}").json()["port"]
    assert opts(port) == {("bootfile-name", "ipxe.efi", 4), ("mtu", "1400", 4),
                          ("67", "grub.efi", 4)}

    bad = openstack(server, "port", "create", "--network", net["id"],
                    "--extra-dhcp-option", "name=no-such-option,value=x", "osc-bad")
    assert bad.returncode != 0
    assert "not a DHCPv4 option" in bad.stderr, bad.stderr
    with server.client() as c:
        names = [p["name"] for p in c.get("/v2.0/ports").json()["ports"]]
    assert "osc-bad" not in names


def test_availability_zones_with_the_openstack_client(server: RunningServer) -> None:
    client = agent_client(server)
    try:
        client.report_state(l2_state("osc-az-host", start=True))
        client.report_state(dhcp_state("osc-az-host", start=True, zone="osc-zone"))
    finally:
        client.close()
    zones = ok_json(server, "availability", "zone", "list", "--network", "--long")
    assert {"Zone Name": "osc-zone", "Zone Status": "available",
            "Zone Resource": "network"} in [
        {k: z[k] for k in ("Zone Name", "Zone Status", "Zone Resource")} for z in zones], zones
    plain = ok_json(server, "availability", "zone", "list", "--network")
    assert {"Zone Name": "osc-zone", "Zone Status": "available"} in plain, plain

    created = ok_json(server, "network", "create", "--availability-zone-hint", "osc-zone",
                      "osc-az-net")
    assert created["availability_zone_hints"] == ["osc-zone"]
    with server.client() as c:
        net = c.get(f"/v2.0/networks/{created['id']}").json()["network"]
        c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"],
                                                 "cidr": "10.63.0.0/24"}}).raise_for_status()
    assert net["availability_zone_hints"] == ["osc-zone"]
    shown = ok_json(server, "network", "show", "osc-az-net")
    assert shown["availability_zones"] == ["osc-zone"]  # its DHCP agent's zone

    bad = openstack(server, "network", "create", "--availability-zone-hint", "no-such-zone",
                    "osc-az-bad")
    assert bad.returncode != 0
    assert "AvailabilityZone no-such-zone could not be found" in bad.stderr, bad.stderr
