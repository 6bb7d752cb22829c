"""extra_dhcp_opts on the real server and all three databases: create, show, Neutron's update
merge, null deletes, [] clears; what the DHCP agent is sent; the extension is listed."""
from __future__ import annotations

from typing import Any

import pytest

from tests.support.agents import agent_client, register
from tests.support.server import RunningServer, body_of

HOST = "edo-host"


def opts(port: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(o["opt_name"], o["opt_value"], o["ip_version"]) for o in port["extra_dhcp_opts"]}


@pytest.fixture(scope="module")
def network_id(server: RunningServer) -> str:
    register(agent_client(server), HOST)
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "edo"}}))["network"]
        body_of(c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"],
                                                    "cidr": "10.61.0.0/24"}}))
    return str(net["id"])


def test_extension_is_listed(server: RunningServer) -> None:
    with server.client() as c:
        ext = body_of(c.get("/v2.0/extensions/extra_dhcp_opt"))["extension"]
    assert ext["alias"] == "extra_dhcp_opt"


def test_options_are_created_shown_merged_deleted_and_cleared(server: RunningServer,
                                                              network_id: str) -> None:
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": network_id, "extra_dhcp_opts": [
                {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
                {"opt_name": "tftp-server", "opt_value": "192.0.2.9", "ip_version": 4},
                {"opt_name": "bootfile-url", "opt_value": "http://x/b", "ip_version": "6"},
                {"opt_name": "mtu", "opt_value": None}]}}))["port"]
        assert opts(port) == {("bootfile-name", "pxelinux.0", 4),
                              ("tftp-server", "192.0.2.9", 4), ("bootfile-url", "http://x/b", 6)}
        path = f"/v2.0/ports/{port['id']}"
        assert opts(body_of(c.get(path))["port"]) == opts(port)
        listed = body_of(c.get("/v2.0/ports", params={"network_id": network_id}))["ports"]
        assert opts(next(p for p in listed if p["id"] == port["id"])) == opts(port)

        # Neutron merges: named options change or go (null), the others stay.
        updated = body_of(c.put(path, json={"port": {"extra_dhcp_opts": [
            {"opt_name": "bootfile-name", "opt_value": "ipxe.efi"},
            {"opt_name": "tftp-server", "opt_value": None},
            {"opt_name": "tag:ipxe,67", "opt_value": "http://192.0.2.9/boot.ipxe"}]}}))["port"]
        assert opts(updated) == {("bootfile-name", "ipxe.efi", 4),
                                 ("bootfile-url", "http://x/b", 6),
                                 ("tag:ipxe,67", "http://192.0.2.9/boot.ipxe", 4)}
        assert updated["revision_number"] == port["revision_number"] + 1
        # Exact names: a tag differing in case is another option, on MariaDB too.
        again = body_of(c.put(path, json={"port": {"extra_dhcp_opts": [
            {"opt_name": "tag:IPXE,67", "opt_value": "other"}]}}))["port"]
        assert ("tag:IPXE,67", "other", 4) in opts(again) and len(opts(again)) == 4
        # An update without extra_dhcp_opts leaves them alone.
        assert opts(body_of(c.put(path, json={"port": {"name": "x"}}))["port"]) == opts(again)

        cleared = body_of(c.put(path, json={"port": {"extra_dhcp_opts": []}}))["port"]
        assert cleared["extra_dhcp_opts"] == []
        assert body_of(c.get(path))["port"]["extra_dhcp_opts"] == []
        assert c.delete(path).status_code == 204


def test_dhcp_agent_is_sent_the_options(server: RunningServer, network_id: str) -> None:
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": network_id, "extra_dhcp_opts": [
                {"opt_name": "bootfile-name", "opt_value": "agent.0"}]}}))["port"]
    info = agent_client(server).get_network_info(HOST, network_id)
    assert info is not None
    sent = next(p for p in info.ports if p.id == port["id"])
    assert [(o.opt_name, o.opt_value, o.ip_version) for o in sent.extra_dhcp_opts] == [
        ("bootfile-name", "agent.0", 4)]


def test_deleting_a_port_deletes_its_options(server: RunningServer, network_id: str) -> None:
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": network_id, "mac_address": "fa:16:3e:61:00:01",
            "extra_dhcp_opts": [{"opt_name": "mtu", "opt_value": "1400"}]}}))["port"]
        assert c.delete(f"/v2.0/ports/{port['id']}").status_code == 204
        # The same MAC again: no option of the old port comes back with it.
        new = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": network_id, "mac_address": "fa:16:3e:61:00:01"}}))["port"]
        assert new["extra_dhcp_opts"] == []
