"""agent_scheduler commands: which DHCP agents host which networks, add and remove."""

from __future__ import annotations

from cli_fake_neutron import FakeNeutron

DHCP_A = "a0c1c21c-d4f4-4577-9ec7-908f2d48622d"
DHCP_B = "f28aa126-6edb-4ea5-a81e-8850876bc0a8"
NET1 = "89dca1c6-c7d4-4f7a-b730-549af0fb6e34"
SUBNET1 = "f6c832e3-9968-46fd-8e45-d5cf646db9d1"


def seed(neutron: FakeNeutron) -> None:
    neutron.add_agent(DHCP_A, "DHCP agent", "HostA")
    neutron.add_agent(DHCP_B, "DHCP agent", "HostB", alive=False)
    neutron.add("networks", id=NET1, name="net1")
    neutron.add("subnets", id=SUBNET1, network_id=NET1, cidr="10.0.1.0/24", name="")
    neutron.bindings.add((DHCP_A, NET1))


def test_dhcp_agent_list_hosting_net_by_name_matches_seed_table(cli, neutron) -> None:
    seed(neutron)
    neutron.bindings.add((DHCP_B, NET1))
    run = cli("dhcp-agent-list-hosting-net", "net1")
    assert run.code == 0
    assert run.out == """\
+--------------------------------------+-------+----------------+-------+
| id                                   | host  | admin_state_up | alive |
+--------------------------------------+-------+----------------+-------+
| a0c1c21c-d4f4-4577-9ec7-908f2d48622d | HostA | True           | :-)   |
| f28aa126-6edb-4ea5-a81e-8850876bc0a8 | HostB | True           | xxx   |
+--------------------------------------+-------+----------------+-------+
"""
    assert neutron.calls[-1] == ("GET", f"/v2.0/networks/{NET1}/dhcp-agents", None)


def test_net_list_on_dhcp_agent_shows_subnet_id_and_cidr(cli, neutron) -> None:
    seed(neutron)
    run = cli("net-list-on-dhcp-agent", DHCP_A)
    assert run.code == 0
    assert run.out == """\
+--------------------------------------+------+--------------------------------------------------+
| id                                   | name | subnets                                          |
+--------------------------------------+------+--------------------------------------------------+
| 89dca1c6-c7d4-4f7a-b730-549af0fb6e34 | net1 | f6c832e3-9968-46fd-8e45-d5cf646db9d1 10.0.1.0/24 |
+--------------------------------------+------+--------------------------------------------------+
"""


def test_dhcp_agent_network_add_posts_network_id_and_confirms(cli, neutron) -> None:
    seed(neutron)
    run = cli("dhcp-agent-network-add", DHCP_B, "net1")
    assert (run.code, run.out) == (0, "Added network net1 to DHCP agent\n")
    assert neutron.calls[-1] == ("POST", f"/v2.0/agents/{DHCP_B}/dhcp-networks",
                                 {"network_id": NET1})
    assert (DHCP_B, NET1) in neutron.bindings


def test_dhcp_agent_network_add_twice_reports_server_conflict(cli, neutron) -> None:
    seed(neutron)
    run = cli("dhcp-agent-network-add", DHCP_A, NET1)
    assert run.code == 1
    assert run.err == (f"The network {NET1} has been already hosted by the DHCP Agent "
                       f"{DHCP_A}.\n")
    assert run.out == ""


def test_dhcp_agent_network_remove_deletes_binding_and_confirms(cli, neutron) -> None:
    seed(neutron)
    run = cli("dhcp-agent-network-remove", DHCP_A, "net1")
    assert (run.code, run.out) == (0, "Removed network net1 from DHCP agent\n")
    assert neutron.calls[-1] == ("DELETE", f"/v2.0/agents/{DHCP_A}/dhcp-networks/{NET1}", None)
    assert neutron.bindings == set()


def test_dhcp_agent_network_add_unknown_network_names_it(cli, neutron) -> None:
    seed(neutron)
    run = cli("dhcp-agent-network-add", DHCP_A, "net9")
    assert run.code == 1
    assert run.err == "Unable to find network with name or id 'net9'\n"
    assert not any(method == "POST" for method, _, _ in neutron.calls)
