"""GET /v2.0/ports?fixed_ips=… (in the query, on every database), the stock `openstack port
list --fixed-ip`, and the dns-integration attributes dns_name / dns_assignment."""
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

from tests.support.needs import not_run
from tests.support.server import USERS, RunningServer, body_of, running_server, settings_for

DOMAIN = "example.org."


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # A domain of our own: under Neutron's default (openstacklocal) dns_name is not used.
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")), dns_domain=DOMAIN)
    with running_server(settings) as running:
        yield running


@pytest.fixture(scope="module")
def world(server: RunningServer) -> dict[str, Any]:
    """A network with two subnets and three ports at known addresses."""
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "fx"}}))["network"]
        a = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "9.0.7.0/24"}}))["subnet"]
        b = body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net["id"], "cidr": "9.0.8.0/24"}}))["subnet"]

        def make(*fixed: tuple[str, str]) -> str:
            body = {"port": {"network_id": net["id"], "fixed_ips": [
                {"subnet_id": s, "ip_address": ip} for s, ip in fixed]}}
            return str(body_of(c.post("/v2.0/ports", json=body))["port"]["id"])

        return {"net": net["id"], "a": a["id"], "b": b["id"],
                "p50": make((a["id"], "9.0.7.50")),
                "p51": make((a["id"], "9.0.7.51"), (b["id"], "9.0.8.150")),
                "p60": make((b["id"], "9.0.8.60"))}


def _ids(server: RunningServer, *filters: str, who: str = "admin") -> set[str]:
    params = [("fixed_ips", f) for f in filters]
    with server.client(who) as c:
        return {p["id"] for p in body_of(c.get("/v2.0/ports", params=params))["ports"]}


def test_fixed_ips_filter_by_address_subnet_and_substring(server: RunningServer,
                                                          world: dict[str, Any]) -> None:
    w = world
    assert _ids(server, "ip_address=9.0.7.50") == {w["p50"]}
    # Repeated values of one key are alternatives.
    assert _ids(server, "ip_address=9.0.7.50", "ip_address=9.0.8.60") == {w["p50"], w["p60"]}
    assert _ids(server, f"subnet_id={w['b']}") == {w["p51"], w["p60"]}
    assert _ids(server, "ip_address_substr=9.0.8.") == {w["p51"], w["p60"]}
    assert _ids(server, "ip_address_substr=.150", "ip_address_substr=7.50") == {
        w["p50"], w["p51"]}
    # Different keys must hold for the same address: 9.0.7.51 is not on subnet b.
    assert _ids(server, "ip_address=9.0.7.51", f"subnet_id={w['b']}") == set()
    assert _ids(server, "ip_address=9.0.8.150", f"subnet_id={w['b']}") == {w["p51"]}
    assert _ids(server, "ip_address=9.0.9.9") == set()
    # % and _ are no wildcards in a substring.
    assert _ids(server, "ip_address_substr=9%0") == set()
    # Other filters still apply beside it; a member sees nothing of the admin's network.
    with server.client() as c:
        body = body_of(c.get("/v2.0/ports", params=[("fixed_ips", "ip_address_substr=9.0."),
                                                ("network_id", w["net"]), ("fields", "id"),
                                                ("limit", "2")]))
    assert len(body["ports"]) == 2 and all(set(p) == {"id"} for p in body["ports"])
    assert _ids(server, "ip_address=9.0.7.50", who="member") == set()


def _openstack() -> str:
    found = shutil.which("openstack", path=os.path.dirname(sys.executable)) or \
        shutil.which("openstack")
    if found is None:
        not_run("the `openstack` command (python-openstackclient, in the test extra) is not "
                "installed")
    return found


def test_openstack_port_list_fixed_ip_finds_the_port(server: RunningServer,
                                                    world: dict[str, Any],
                                                    tmp_path: Path) -> None:
    user, password, project = USERS["admin"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "OS_AUTH_URL": f"{server.url}/v3", "OS_IDENTITY_API_VERSION": "3",
           "OS_USERNAME": user, "OS_PASSWORD": password, "OS_PROJECT_NAME": project,
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}
    argv = [_openstack(), "port", "list", "--fixed-ip", "ip-address=9.0.7.50", "-f", "json"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert [p["ID"] for p in json.loads(proc.stdout)] == [world["p50"]]
    argv = [_openstack(), "port", "list", "--fixed-ip", f"subnet={world['b']}",
            "--fixed-ip", "ip-address=9.0.8.60", "-f", "json"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert [p["ID"] for p in json.loads(proc.stdout)] == [world["p60"]]


def test_dns_name_gives_the_dns_assignment(server: RunningServer,
                                          world: dict[str, Any]) -> None:
    with server.client() as c:
        port = body_of(c.post("/v2.0/ports", json={"port": {
            "network_id": world["net"], "dns_name": "Web-1",
            "fixed_ips": [{"subnet_id": world["a"], "ip_address": "9.0.7.70"}]}}))["port"]
        assert port["dns_name"] == "web-1"
        assert port["dns_assignment"] == [
            {"hostname": "web-1", "ip_address": "9.0.7.70", "fqdn": "web-1.example.org."}]
        shown = body_of(c.get(f"/v2.0/ports/{world['p50']}"))["port"]
        assert shown["dns_name"] == ""
        assert shown["dns_assignment"] == [{"hostname": "host-9-0-7-50",
                                            "ip_address": "9.0.7.50",
                                            "fqdn": "host-9-0-7-50.example.org."}]
        listed = body_of(c.get("/v2.0/ports", params={"dns_name": "web-1"}))["ports"]
        assert [p["id"] for p in listed] == [port["id"]]
        fqdn = body_of(c.put(f"/v2.0/ports/{port['id']}", json={"port": {
            "dns_name": "www.example.org."}}))["port"]
        assert fqdn["dns_assignment"][0]["fqdn"] == "www.example.org."
        # An FQDN outside the server's dns_domain: refused, nothing changed.
        bad = c.put(f"/v2.0/ports/{port['id']}", json={"port": {"dns_name": "www.other.net."}})
        assert bad.status_code == 400, bad.text
        assert "example.org." in bad.json()["NeutronError"]["message"]
        assert body_of(c.get(f"/v2.0/ports/{port['id']}"))["port"]["dns_name"] == "www.example.org."
        before = {p["id"] for p in body_of(c.get("/v2.0/ports"))["ports"]}
        refused = c.post("/v2.0/ports", json={"port": {"network_id": world["net"],
                                                       "dns_name": "x.other.net."}})
        assert refused.status_code == 400, refused.text
        assert {p["id"] for p in body_of(c.get("/v2.0/ports"))["ports"]} == before
        cleared = body_of(c.put(f"/v2.0/ports/{port['id']}", json={"port": {"dns_name": ""}}))
        assert cleared["port"]["dns_assignment"][0]["hostname"] == "host-9-0-7-70"
        net = body_of(c.post("/v2.0/networks", json={"network": {
            "name": "dd", "dns_domain": "Corp.Example.org."}}))["network"]
        assert net["dns_domain"] == "corp.example.org."
        net = body_of(c.put(f"/v2.0/networks/{net['id']}", json={"network": {"dns_domain": ""}}))
        assert net["network"]["dns_domain"] == ""
        aliases = {e["alias"] for e in body_of(c.get("/v2.0/extensions"))["extensions"]}
        assert {"dns-integration", "ip-substring-filtering"} <= aliases
        assert c.delete(f"/v2.0/ports/{port['id']}").status_code == 204

