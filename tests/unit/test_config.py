"""Config files: the seed's neutron.conf and plugin .ini work unchanged; bad values explain."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neutrino import config
from neutrino.config import (
    SERVER_OPTS,
    ConfigError,
    IniFiles,
    VlanRange,
    load_server_settings,
    report_unused,
)

NEUTRON_CONF = """\
[DEFAULT]
core_plugin = neutron.plugins.linuxbridge.lb_neutron_plugin.LinuxBridgePluginV2
rabbit_host = controlnode
allow_overlapping_ips = True
host = controlnode
agent_down_time = 5
"""

LINUXBRIDGE_CONF = """\
[vlans]
tenant_network_type = vlan
network_vlan_ranges = physnet1:1000:2999

[database]
connection = mysql://root:root@127.0.0.1:3306/neutron_linux_bridge
retry_interval = 2

[linux_bridge]
physical_interface_mappings = physnet1:eth0
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def seed_files(tmp_path: Path) -> list[str]:
    return [write(tmp_path, "neutron.conf", NEUTRON_CONF),
            write(tmp_path, "linuxbridge_conf.ini", LINUXBRIDGE_CONF)]


def test_seed_controller_files_are_accepted_unchanged(seed_files: list[str]) -> None:
    settings = load_server_settings(seed_files)
    assert settings.host == "controlnode"
    assert settings.agent_down_time == 5
    assert settings.allow_overlapping_ips is True
    assert settings.tenant_network_types == ["vlan"]
    assert settings.network_vlan_ranges == [VlanRange("physnet1", 1000, 2999)]
    assert settings.db_connection == \
        "mysql+pymysql://root:root@127.0.0.1:3306/neutron_linux_bridge"
    assert settings.db_retry_interval == 2
    assert settings.transport_url == "rabbit://guest:guest@controlnode:5672/"


def test_seed_keys_neutrino_does_not_use_are_reported(seed_files: list[str],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    files = IniFiles.read(seed_files)
    with caplog.at_level(logging.INFO, logger="neutrino.config"):
        unused = report_unused(files, SERVER_OPTS, "neutrino-server")
    assert [u.split(" (")[0] for u in unused] == [
        "[DEFAULT] core_plugin", "[linux_bridge] physical_interface_mappings"]
    assert seed_files[0] in unused[0] and seed_files[1] in unused[1]
    assert "core_plugin" in caplog.text


def test_ml2_style_keys_work(tmp_path: Path) -> None:
    path = write(tmp_path, "ml2_conf.ini", """\
[ml2]
tenant_network_types = vxlan,vlan
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:199,physnet2
[ml2_type_vxlan]
vni_ranges = 1000:1999, 5000:5009
""")
    settings = load_server_settings([path])
    assert settings.tenant_network_types == ["vxlan", "vlan"]
    assert settings.network_vlan_ranges == [VlanRange("physnet1", 100, 199),
                                            VlanRange("physnet2")]
    assert settings.vni_ranges == [(1000, 1999), (5000, 5009)]


def test_defaults(tmp_path: Path) -> None:
    settings = load_server_settings([], overrides={"state_path": str(tmp_path)})
    assert settings.agent_down_time == 75
    assert settings.dhcp_agents_per_network == 1
    assert settings.network_scheduler_driver == "least_loaded"
    assert settings.allow_overlapping_ips is False
    assert settings.base_mac == "fa:16:3e:00:00:00"
    assert settings.transport_url == ""
    assert settings.tenant_network_types == ["local"]
    assert settings.db_connection == "sqlite:///" + os.path.join(str(tmp_path), "neutrino.db")


@pytest.mark.parametrize(("text", "expected"), [
    ("", 86400),  # Neutron's default dhcp_lease_duration
    ("dhcp_lease_duration = 600\n", 600),  # follows the lease time when only that is set
    ("dhcp_lease_duration = -1\n", 86400),  # an infinite lease bounds nothing
    ("dhcp_lease_duration = 600\nip_reuse_quarantine = 30\n", 30),
    ("ip_reuse_quarantine = 0\n", 0),  # Neutron's immediate reuse
])
def test_ip_reuse_quarantine_defaults_to_the_lease_time(tmp_path: Path, text: str,
                                                        expected: int) -> None:
    path = write(tmp_path, "q.conf", "[DEFAULT]\n" + text)
    assert load_server_settings([path]).ip_reuse_quarantine == expected


def test_vni_ranges_alone_make_vxlan_the_tenant_type(tmp_path: Path) -> None:
    path = write(tmp_path, "a.conf", "[ml2_type_vxlan]\nvni_ranges = 10:20\n")
    assert load_server_settings([path]).tenant_network_types == ["vxlan"]


def test_later_file_wins(tmp_path: Path) -> None:
    first = write(tmp_path, "a.conf", "[DEFAULT]\nagent_down_time = 5\n")
    second = write(tmp_path, "b.conf", "[DEFAULT]\nagent_down_time = 9\n")
    assert load_server_settings([first, second]).agent_down_time == 9


@pytest.mark.parametrize(("value", "expected"), [
    ("neutron.scheduler.dhcp_agent_scheduler.ChanceScheduler", "chance"),
    ("neutron.scheduler.dhcp_agent_scheduler.WeightScheduler", "least_loaded"),
    ("neutron.scheduler.dhcp_agent_scheduler.AZAwareWeightScheduler", "least_loaded"),
    ("chance", "chance"),
    ("Least_Loaded", "least_loaded"),
])
def test_neutron_scheduler_class_paths_map_to_strategies(tmp_path: Path, value: str,
                                                         expected: str) -> None:
    path = write(tmp_path, "a.conf", f"[DEFAULT]\nnetwork_scheduler_driver = {value}\n")
    assert load_server_settings([path]).network_scheduler_driver == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("mysql://u:p@h/db", "mysql+pymysql://u:p@h/db"),
    ("mysql+pymysql://u:p@h/db", "mysql+pymysql://u:p@h/db"),
    ("mariadb://u@h/db", "mariadb+pymysql://u@h/db"),
    ("postgres://u@h/db", "postgresql://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls(raw: str, expected: str) -> None:
    assert config.parse_db_url(raw) == expected


@pytest.mark.parametrize(("section", "key", "value", "allowed"), [
    ("DEFAULT", "agent_down_time", "soon", "an integer >= 1"),
    ("DEFAULT", "agent_down_time", "0", "an integer >= 1"),
    ("DEFAULT", "dhcp_agents_per_network", "-2", "an integer >= 1"),
    ("DEFAULT", "bind_port", "70000", "an integer from 1 to 65535"),
    ("DEFAULT", "allow_overlapping_ips", "perhaps", "a boolean (True or False)"),
    ("DEFAULT", "network_scheduler_driver", "round_robin", "one of least_loaded, chance"),
    ("DEFAULT", "base_mac", "fa:16:3e", "a MAC address"),
    ("DEFAULT", "bind_host", "localhost", "an IP address"),
    ("DEFAULT", "transport_url", "zmq://x", "http://, https:// or rabbit://"),
    ("database", "connection", "oracle://x/y", "sqlite, mysql or postgresql"),
    ("database", "connection", "nothing", "a database URL"),
    ("vlans", "network_vlan_ranges", "physnet1:1000", "<physical_network>[:<vlan_min>:<vlan_max>]"),
    ("ml2_type_vlan", "network_vlan_ranges", "physnet1:3000:5000", "vlan_max <= 4094"),
    ("ml2_type_vlan", "network_vlan_ranges", "physnet1:20:10", "vlan_min <= vlan_max"),
    ("ml2_type_vxlan", "vni_ranges", "a:b", "<vni_min>:<vni_max>"),
    ("ml2_type_vxlan", "vni_ranges", "1:2:3", "<vni_min>:<vni_max>"),
    ("ml2_type_vxlan", "vni_ranges", "0:10", "1 <= min <= max"),
    ("token", "expiration", "10", "an integer >= 60"),
    ("DEFAULT", "dns_domain", "-corp.example.org", "a domain name"),
])
def test_bad_values_name_file_section_key_and_allowed(tmp_path: Path, section: str, key: str,
                                                      value: str, allowed: str) -> None:
    path = write(tmp_path, "bad.conf", f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_server_settings([path])
    message = str(caught.value)
    assert path in message and f"[{section}] {key}" in message
    assert repr(value) in message and allowed in message


def test_bad_tenant_network_type_names_key_and_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.conf", "[vlans]\ntenant_network_type = gre\n")
    with pytest.raises(ConfigError, match=r"tenant_network_type.*'gre'.*vlan, vxlan, flat, local"):
        load_server_settings([path])


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.conf")
    with pytest.raises(ConfigError, match="nope.conf does not exist"):
        load_server_settings([missing])


def test_unparsable_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.conf", "no section header here\n")
    with pytest.raises(ConfigError, match="broken.conf: cannot parse INI file"):
        load_server_settings([path])


ini_text = st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                 exclude_characters="[]=:;#%"), min_size=1, max_size=20)


@settings(deadline=None)  # writes a file per example
@given(st.dictionaries(st.sampled_from(["DEFAULT", "database", "ml2", "x"]),
                       st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), ini_text,
                                       max_size=5), max_size=4))
def test_ini_files_round_trip(tmp_path_factory: pytest.TempPathFactory,
                              data: dict[str, dict[str, str]]) -> None:
    path = tmp_path_factory.mktemp("ini") / "round.conf"
    path.write_text("".join(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
                            for section, keys in data.items()))
    files = IniFiles.read([str(path)])
    assert {k: v for k, (v, _) in files.values.items()} == \
        {(s, k): v for s, keys in data.items() for k, v in keys.items()}


@settings(deadline=None)  # writes a file per example
@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1, max_value=50),
       st.booleans(), st.sampled_from(["chance", "least_loaded"]),
       st.lists(st.tuples(st.integers(1, 4094), st.integers(0, 100)), max_size=3))
def test_settings_round_trip_through_ini_text(
        tmp_path_factory: pytest.TempPathFactory, down: int, per_network: int, overlap: bool,
        driver: str, vlans: list[tuple[int, int]]) -> None:
    ranges = [VlanRange(f"physnet{i}", low, min(low + span, 4094))
              for i, (low, span) in enumerate(vlans)]
    text = (f"[DEFAULT]\nagent_down_time = {down}\ndhcp_agents_per_network = {per_network}\n"
            f"allow_overlapping_ips = {overlap}\nnetwork_scheduler_driver = {driver}\n"
            "[ml2_type_vlan]\nnetwork_vlan_ranges = "
            + ",".join(f"{r.physical_network}:{r.low}:{r.high}" for r in ranges) + "\n")
    path = tmp_path_factory.mktemp("ini") / "round.conf"
    path.write_text(text)
    settings = load_server_settings([str(path)], overrides={"state_path": str(path.parent)})
    assert (settings.agent_down_time, settings.dhcp_agents_per_network,
            settings.allow_overlapping_ips, settings.network_scheduler_driver,
            settings.network_vlan_ranges) == (down, per_network, overlap, driver, ranges)


def test_request_limits_default_as_neutron_and_read_neutrons_keys(tmp_path: Path) -> None:
    defaults = load_server_settings([])
    assert (defaults.max_request_body_size, defaults.max_header_line, defaults.backlog) == \
        (114688, 16384, 4096)
    conf = write(tmp_path, "neutron.conf", (
        "[DEFAULT]\nmax_header_line = 32768\nclient_socket_timeout = 0\n"
        "client_header_timeout = 5\nclient_body_timeout = 7\nmax_connections = 100\n"
        "[oslo_middleware]\nmax_request_body_size = 65536\n"))
    settings = load_server_settings([conf])
    assert (settings.max_request_body_size, settings.max_header_line,
            settings.client_socket_timeout, settings.client_header_timeout,
            settings.client_body_timeout, settings.max_connections) == \
        (65536, 32768, 0, 5, 7, 100)
    assert report_unused(IniFiles.read([conf]), SERVER_OPTS, "neutrino-server") == []


def test_request_limits_refuse_nonsense(tmp_path: Path) -> None:
    for line in ("[oslo_middleware]\nmax_request_body_size = 10\n",
                 "[DEFAULT]\nclient_header_timeout = 0\n", "[DEFAULT]\nmax_connections = -1\n"):
        with pytest.raises(ConfigError, match="is invalid"):
            load_server_settings([write(tmp_path, "bad.conf", line)])


def test_uvicorn_gets_the_connection_limits() -> None:
    from neutrino.api.connection_guard import (
        FOREVER,
        ConnectionLimits,
        GuardedHttpToolsProtocol,
        uvicorn_options,
    )

    settings = load_server_settings([]).replace(client_socket_timeout=0, max_header_line=32768)
    options = uvicorn_options(settings)
    assert options["http"] is GuardedHttpToolsProtocol
    assert options["timeout_keep_alive"] == FOREVER and options["limit_concurrency"] == 2048
    limits = ConnectionLimits.from_settings(settings)
    assert (limits.header_line, limits.header_section) == (32768, 131072)
