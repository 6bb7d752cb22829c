from __future__ import annotations

import logging
from pathlib import Path

import pytest

from neutrino.agent.settings import (
    load_dhcp_agent_settings,
    load_l2_agent_settings,
    server_access,
)
from neutrino.config import ConfigError

URL = "transport_url = http://neutron:secret@controlnode:9696/\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_seed_dhcp_agent_files_load_with_defaults(tmp_path: Path) -> None:
    conf = write(tmp_path, "neutron.conf", f"[DEFAULT]\n{URL}host = HostA\n"
                 "state_path = /var/lib/nt\n")
    ini = write(tmp_path, "dhcp_agent.ini", "[DEFAULT]\ninterface_driver = "
                "neutron.agent.linux.interface.BridgeInterfaceDriver\n"
                "dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq\n")
    s = load_dhcp_agent_settings([conf, ini])
    assert s.host == "HostA"
    assert s.interface_driver == "linuxbridge"
    assert s.dhcp_driver == "dnsmasq"
    assert s.dhcp_confs == "/var/lib/nt/dhcp"
    assert (s.report_interval, s.num_sync_threads, s.resync_interval) == (30, 8, 60)
    assert (s.dhcp_lease_duration, s.namespace_prefix, s.kill_dnsmasq_on_exit) == (
        86400, "qdhcp-", False)
    assert s.availability_zone == "nova"
    assert s.server.url == "http://controlnode:9696/"
    assert (s.server.username, s.server.password) == ("neutron", "secret")


def test_linuxbridge_alias_and_agent_section_upper_case(tmp_path: Path) -> None:
    conf = write(tmp_path, "a.conf", f"[DEFAULT]\n{URL}interface_driver = linuxbridge\n"
                 "[AGENT]\nreport_interval = 2\n")
    s = load_dhcp_agent_settings([conf])
    assert (s.interface_driver, s.report_interval) == ("linuxbridge", 2)


def test_rabbit_only_config_reaches_the_server_through_the_broker(tmp_path: Path) -> None:
    """The seed's HostA/HostB neutron.conf: rabbit_* keys only, as RabbitMQ credentials."""
    conf = write(tmp_path, "neutron.conf", "[DEFAULT]\nrabbit_host = controlnode\n"
                 "rabbit_password = openstack\n")
    s = load_dhcp_agent_settings([conf])
    assert s.transport_url == "rabbit://guest:openstack@controlnode:5672/"
    assert (s.server.username, s.server.password) == ("guest", "openstack")
    assert "openstack" not in s.server.url and s.control_exchange == "neutron"


def test_no_server_at_all_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="transport_url"):
        load_dhcp_agent_settings([write(tmp_path, "x.conf", "[DEFAULT]\n")])


@pytest.mark.parametrize("key, value, allowed", [
    ("interface_driver", "openvswitch", "one of linuxbridge"),
    ("dhcp_lease_duration", "soon", "an integer >= -1"),
    ("num_sync_threads", "0", "an integer from 1 to 256"),
    ("kill_dnsmasq_on_exit", "maybe", "a boolean"),
    ("dns_domain", "exa_mple.org", "a domain name"),
    ("dnsmasq_local_resolv", "sometimes", "a boolean"),
])
def test_bad_values_name_file_key_and_allowed(tmp_path: Path, key: str, value: str,
                                              allowed: str) -> None:
    conf = write(tmp_path, "bad.ini", f"[DEFAULT]\n{URL}{key} = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_dhcp_agent_settings([conf])
    assert conf in str(err.value) and f"[DEFAULT] {key}" in str(err.value)
    assert allowed in str(err.value)


def test_dns_options_and_the_older_dhcp_domain_key(tmp_path: Path) -> None:
    s = load_dhcp_agent_settings([write(tmp_path, "d.ini", f"[DEFAULT]\n{URL}")])
    assert (s.dns_domain, s.dnsmasq_dns_servers, s.dnsmasq_local_resolv) == (
        "openstacklocal", [], False)
    s = load_dhcp_agent_settings([write(tmp_path, "e.ini", (
        f"[DEFAULT]\n{URL}dhcp_domain = Example.ORG\n"
        "dnsmasq_dns_servers = 192.0.2.53, 192.0.2.54\ndnsmasq_local_resolv = True\n"))])
    assert (s.dns_domain, s.dnsmasq_dns_servers, s.dnsmasq_local_resolv) == (
        "example.org", ["192.0.2.53", "192.0.2.54"], True)


def test_long_report_interval_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conf = write(tmp_path, "a.conf", f"[DEFAULT]\n{URL}[agent]\nreport_interval = 30\n")
    with caplog.at_level(logging.WARNING):
        load_dhcp_agent_settings([conf])
    assert "agent_down_time" in caplog.text and "75" in caplog.text


def test_l2_agent_seed_file(tmp_path: Path) -> None:
    conf = write(tmp_path, "lb.ini", f"[DEFAULT]\n{URL}host = HostB\n"
                 "[linux_bridge]\nphysical_interface_mappings = physnet1:eth0\n"
                 "[vxlan]\nenable_vxlan = true\nlocal_ip = 192.0.2.2\nvxlan_group =\n")
    s = load_l2_agent_settings([conf])
    assert s.physical_interface_mappings == {"physnet1": "eth0"}
    assert (s.enable_vxlan, s.local_ip, s.vxlan_group) == (True, "192.0.2.2", None)
    assert s.vxlan_udp_port == 4789


def test_l2_agent_default_vxlan_group_and_missing_local_ip(tmp_path: Path) -> None:
    s = load_l2_agent_settings([write(tmp_path, "a.ini", f"[DEFAULT]\n{URL}")])
    assert s.vxlan_group == "224.0.0.1" and not s.enable_vxlan
    conf = write(tmp_path, "b.ini", f"[DEFAULT]\n{URL}[vxlan]\nenable_vxlan = True\n")
    with pytest.raises(ConfigError, match="local_ip"):
        load_l2_agent_settings([conf])


def test_server_access_unquotes_credentials() -> None:
    access = server_access("http://ad%40min:p%3Ass@[::1]:9696/")
    assert (access.url, access.username, access.password) == (
        "http://[::1]:9696/", "ad@min", "p:ss")


def test_server_access_project_from_query() -> None:
    assert server_access("http://a:b@h:9696/").project == "admin"
    assert server_access("http://a:b@h:9696/?project=service").project == "service"
