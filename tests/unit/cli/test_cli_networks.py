"""net-*, subnet-*, port-* and ext-list: request bodies, tables, name resolution."""

from __future__ import annotations

import json

from cli_fake_neutron import FakeNeutron

NET1 = "89dca1c6-c7d4-4f7a-b730-549af0fb6e34"
NET2 = "9b96b14f-71b8-4918-90aa-c5d705606b1a"
SUBNET1 = "f6c832e3-9968-46fd-8e45-d5cf646db9d1"
SUBNET2 = "6979b71a-0ae8-448c-aa87-65f68eedcaaa"


def seed_networks(neutron: FakeNeutron) -> None:
    neutron.add("networks", id=NET1, name="net1")
    neutron.add("networks", id=NET2, name="net2")
    neutron.add("subnets", id=SUBNET1, network_id=NET1, cidr="10.0.1.0/24", name="subnet1")
    neutron.add("subnets", id=SUBNET2, network_id=NET2, cidr="9.0.1.0/24", name="subnet2")


def test_ext_list_with_columns_keeps_alias_first_like_the_seed(cli, neutron) -> None:
    neutron.extensions = [{"alias": "agent_scheduler", "name": "Agent Schedulers",
                           "description": "Schedule resources among agents"},
                          {"alias": "agent", "name": "agent"}]
    run = cli("ext-list", "-c", "name", "-c", "alias")
    assert run.code == 0
    assert run.out == """\
+-----------------+------------------+
| alias           | name             |
+-----------------+------------------+
| agent_scheduler | Agent Schedulers |
| agent           | agent            |
+-----------------+------------------+
"""


def test_net_list_shows_subnet_id_and_cidr_like_the_seed(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("net-list")
    assert run.code == 0
    assert run.out == """\
+--------------------------------------+------+--------------------------------------------------+
| id                                   | name | subnets                                          |
+--------------------------------------+------+--------------------------------------------------+
| 89dca1c6-c7d4-4f7a-b730-549af0fb6e34 | net1 | f6c832e3-9968-46fd-8e45-d5cf646db9d1 10.0.1.0/24 |
| 9b96b14f-71b8-4918-90aa-c5d705606b1a | net2 | 6979b71a-0ae8-448c-aa87-65f68eedcaaa 9.0.1.0/24  |
+--------------------------------------+------+--------------------------------------------------+
"""


def test_net_list_puts_each_subnet_on_its_own_line(cli, neutron) -> None:
    seed_networks(neutron)
    extra = neutron.add("subnets", network_id=NET1, cidr="10.0.2.0/24")
    run = cli("net-list", "-c", "subnets", "--name", "net1")
    assert run.out.splitlines()[3:5] == [
        f"| {SUBNET1} 10.0.1.0/24 |",
        f"| {extra['id']} 10.0.2.0/24 |",
    ]
    assert ("GET", "/v2.0/networks?name=net1", None) in neutron.calls


def test_net_list_json_lists_subnets(cli, neutron) -> None:
    seed_networks(neutron)
    rows = json.loads(cli("net-list", "-f", "json").out)
    assert rows[0]["subnets"] == [f"{SUBNET1} 10.0.1.0/24"]


def test_net_create_sends_provider_fields_and_announces_the_table(cli, neutron) -> None:
    run = cli("net-create", "net2", "--provider:network_type", "vlan",
              "--provider:physical_network", "physnet1", "--provider:segmentation_id", "1000",
              "--shared", "--tenant-id", "t9")
    assert run.code == 0
    assert neutron.calls[-1] == ("POST", "/v2.0/networks", {"network": {
        "name": "net2", "admin_state_up": True, "shared": True, "tenant_id": "t9",
        "provider:network_type": "vlan", "provider:physical_network": "physnet1",
        "provider:segmentation_id": 1000}})
    lines = run.out.splitlines()
    assert lines[0] == "Created a new network:"
    assert lines[2].split() == ["|", "Field", "|", "Value", "|"]
    assert "| provider:segmentation_id  | 1000" in run.out


def test_net_create_admin_state_down(cli, neutron) -> None:
    cli("net-create", "quiet", "--admin-state-down")
    assert neutron.calls[-1][2] == {"network": {"name": "quiet", "admin_state_up": False}}


def test_net_create_value_format_has_no_announcement(cli, neutron) -> None:
    run = cli("net-create", "net3", "-f", "value", "-c", "id")
    created_id = next(iter(neutron.store["networks"]))
    assert run.out == f"{created_id}\n"


def test_net_show_finds_by_name_and_lists_subnet_ids(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("net-show", "net1", "-f", "json")
    shown = json.loads(run.out)
    assert shown["id"] == NET1
    assert shown["subnets"] == [SUBNET1]


def test_net_show_by_id_uses_a_single_get(cli, neutron) -> None:
    seed_networks(neutron)
    assert cli("net-show", NET2).code == 0
    assert neutron.calls == [("GET", f"/v2.0/networks/{NET2}", None)] * 2


def test_unknown_network_name_is_reported_with_the_name(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("net-show", "net7")
    assert (run.code, run.out) == (1, "")
    assert run.err == "Unable to find network with name or id 'net7'\n"


def test_unknown_network_id_is_reported_with_the_id(cli, neutron) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    run = cli("net-delete", missing)
    assert run.code == 1
    assert run.err == f"Unable to find network with name or id '{missing}'\n"


def test_ambiguous_network_name_lists_the_matching_ids(cli, neutron) -> None:
    seed_networks(neutron)
    twin = neutron.add("networks", name="net1")
    run = cli("net-show", "net1")
    assert run.code == 1
    assert run.err == (f"Multiple networks match name 'net1' ({NET1}, {twin['id']}); "
                       "use the id of the one you mean.\n")


def test_net_delete_by_name(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("net-delete", "net2")
    assert (run.code, run.out) == (0, "Deleted network: net2\n")
    assert neutron.calls[-1] == ("DELETE", f"/v2.0/networks/{NET2}", None)


def test_net_update_renames(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("net-update", "net2", "--name", "net2b", "--admin-state-up", "false")
    assert (run.code, run.out) == (0, "Updated network: net2\n")
    assert neutron.calls[-1] == ("PUT", f"/v2.0/networks/{NET2}",
                                 {"network": {"name": "net2b", "admin_state_up": False}})


def test_subnet_create_builds_the_full_body(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("subnet-create", "net2", "9.0.2.0/24", "--name", "subnet3",
              "--gateway", "9.0.2.254",
              "--allocation-pool", "start=9.0.2.10,end=9.0.2.20",
              "--allocation-pool", "start=9.0.2.30,end=9.0.2.40",
              "--dns-nameserver", "8.8.8.8", "--dns-nameserver", "8.8.4.4",
              "--host-route", "destination=10.9.0.0/16,nexthop=9.0.2.1",
              "--disable-dhcp")
    assert run.code == 0, run.err
    assert run.out.startswith("Created a new subnet:\n")
    assert neutron.calls[-1] == ("POST", "/v2.0/subnets", {"subnet": {
        "network_id": NET2, "cidr": "9.0.2.0/24", "ip_version": 4, "name": "subnet3",
        "gateway_ip": "9.0.2.254", "dns_nameservers": ["8.8.8.8", "8.8.4.4"],
        "host_routes": [{"destination": "10.9.0.0/16", "nexthop": "9.0.2.1"}],
        "enable_dhcp": False,
        "allocation_pools": [{"start": "9.0.2.10", "end": "9.0.2.20"},
                             {"start": "9.0.2.30", "end": "9.0.2.40"}]}})


def test_subnet_create_no_gateway_sends_null(cli, neutron) -> None:
    seed_networks(neutron)
    cli("subnet-create", "net2", "9.0.3.0/24", "--no-gateway")
    assert neutron.calls[-1][2]["subnet"]["gateway_ip"] is None


def test_subnet_create_rejects_a_half_allocation_pool(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("subnet-create", "net2", "9.0.3.0/24", "--allocation-pool", "start=9.0.3.2")
    assert run.code == 2
    assert "'start=9.0.3.2' lacks end" in run.err
    assert neutron.calls == []


def test_subnet_create_gateway_and_no_gateway_conflict(cli, neutron) -> None:
    run = cli("subnet-create", "net2", "9.0.3.0/24", "--gateway", "9.0.3.1", "--no-gateway")
    assert run.code == 2
    assert "not allowed with argument" in run.err


def test_subnet_list_shows_pools_one_json_object_per_line(cli, neutron) -> None:
    neutron.add("networks", id=NET2, name="net2")
    neutron.add("subnets", id=SUBNET2, network_id=NET2, cidr="9.0.1.0/24", name="subnet2",
                allocation_pools=[{"start": "9.0.1.2", "end": "9.0.1.9"},
                                  {"start": "9.0.1.20", "end": "9.0.1.29"}])
    run = cli("subnet-list")
    rows = [line.split("|")[1:-1] for line in run.out.splitlines()[3:5]]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [SUBNET2, "subnet2", "9.0.1.0/24", '{"start": "9.0.1.2", "end": "9.0.1.9"}'],
        ["", "", "", '{"start": "9.0.1.20", "end": "9.0.1.29"}'],
    ]
    assert run.out.splitlines()[1].split() == [
        "|", "id", "|", "name", "|", "cidr", "|", "allocation_pools", "|"]


def test_port_create_resolves_subnet_names_in_fixed_ips(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("port-create", "net2", "--name", "p1", "--mac-address", "fa:16:3e:aa:bb:cc",
              "--fixed-ip", "subnet_id=subnet2,ip_address=9.0.1.5",
              "--device-id", "vm-1", "--device-owner", "compute:nova",
              "--binding:host_id", "HostA")
    assert run.code == 0, run.err
    assert run.out.startswith("Created a new port:\n")
    assert neutron.calls[-1] == ("POST", "/v2.0/ports", {"port": {
        "network_id": NET2, "admin_state_up": True, "name": "p1",
        "mac_address": "fa:16:3e:aa:bb:cc", "device_id": "vm-1",
        "device_owner": "compute:nova", "binding:host_id": "HostA",
        "fixed_ips": [{"subnet_id": SUBNET2, "ip_address": "9.0.1.5"}]}})


def test_port_create_on_unknown_network_sends_nothing(cli, neutron) -> None:
    run = cli("port-create", "nowhere")
    assert run.code == 1
    assert run.err == "Unable to find network with name or id 'nowhere'\n"
    assert not any(method == "POST" for method, _, _ in neutron.calls)


def test_port_list_shows_fixed_ips_as_json_lines(cli, neutron) -> None:
    neutron.add("networks", id=NET2, name="net2")
    neutron.add("ports", id="p-1", name="", mac_address="fa:16:3e:00:00:01", network_id=NET2,
                fixed_ips=[{"subnet_id": SUBNET2, "ip_address": "9.0.1.2"}])
    run = cli("port-list")
    assert run.out.splitlines()[3] == (
        '| p-1 |      | fa:16:3e:00:00:01 | '
        '{"subnet_id": "6979b71a-0ae8-448c-aa87-65f68eedcaaa", "ip_address": "9.0.1.2"} |')


def test_port_update_binds_port_to_host(cli, neutron) -> None:
    neutron.add("networks", id=NET2, name="net2")
    neutron.add("ports", id="p-1", name="vm-port", network_id=NET2)
    run = cli("port-update", "vm-port", "--binding:host_id", "HostB", "--device-id", "vm-9")
    assert (run.code, run.out) == (0, "Updated port: vm-port\n")
    assert neutron.calls[-1] == ("PUT", "/v2.0/ports/p-1", {"port": {
        "device_id": "vm-9", "binding:host_id": "HostB"}})


def test_show_formats_yaml_and_shell(cli, neutron) -> None:
    neutron.add("networks", id=NET2, name="net2")
    assert "name: net2" in cli("net-show", NET2, "-f", "yaml").out
    assert 'name="net2"' in cli("net-show", NET2, "-f", "shell").out


def test_port_create_sends_extra_dhcp_opts_as_the_old_client(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("port-create", "net2",
              "--extra-dhcp-opt", "opt_name=bootfile-name,opt_value=pxelinux.0",
              "--extra_dhcp_opt", "opt_name=dns-server,opt_value=192.0.2.1,192.0.2.2,"
                                  "ip_version=4")
    assert run.code == 0, run.err
    assert neutron.calls[-1][2]["port"]["extra_dhcp_opts"] == [
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "dns-server", "opt_value": "192.0.2.1,192.0.2.2", "ip_version": "4"}]


def test_port_update_extra_dhcp_opt_with_empty_value_deletes_it(cli, neutron) -> None:
    neutron.add("networks", id=NET2, name="net2")
    neutron.add("ports", id="p-1", name="vm-port", network_id=NET2)
    run = cli("port-update", "vm-port", "--extra-dhcp-opt", "opt_name=tftp-server,opt_value=",
              "--extra-dhcp-opt", "opt_name=67,opt_value=ipxe.efi")
    assert (run.code, run.out) == (0, "Updated port: vm-port\n")
    assert neutron.calls[-1] == ("PUT", "/v2.0/ports/p-1", {"port": {"extra_dhcp_opts": [
        {"opt_name": "tftp-server", "opt_value": None},
        {"opt_name": "67", "opt_value": "ipxe.efi"}]}})


def test_port_create_refuses_extra_dhcp_opt_without_a_name(cli, neutron) -> None:
    seed_networks(neutron)
    run = cli("port-create", "net2", "--extra-dhcp-opt", "opt_value=x")
    assert run.code != 0 and "lacks opt_name" in run.err
    assert not any(method == "POST" for method, _, _ in neutron.calls)
