"""agent-* commands: the seed's tables, faces for liveness, update and delete messages."""

from __future__ import annotations

import json

from cli_fake_neutron import FakeNeutron

DHCP_A = "a0c1c21c-d4f4-4577-9ec7-908f2d48622d"
DHCP_B = "f28aa126-6edb-4ea5-a81e-8850876bc0a8"
BRIDGE_A = "1b69828d-6a9b-4826-87cd-1757f0e27f31"


def seed_agents(neutron: FakeNeutron) -> None:
    # As the server shows them: L2 agents have no zone, DHCP agents' load is their networks.
    neutron.add_agent(BRIDGE_A, "Linux bridge agent", "HostA", availability_zone=None,
                      load=0)
    neutron.add_agent(DHCP_A, "DHCP agent", "HostA", admin_state_up=False,
                      availability_zone="nova", load=3)
    neutron.add_agent(DHCP_B, "DHCP agent", "HostB", alive=False, availability_zone="rack2",
                      load=0)


def test_agent_list_shows_faces_for_alive_and_booleans_for_admin_state(cli, neutron) -> None:
    seed_agents(neutron)
    run = cli("agent-list")
    assert run.code == 0
    assert run.out == """\
+--------------------------------------+--------------------+-------+-------------------+-------+----------------+
| id                                   | agent_type         | host  | availability_zone | alive | admin_state_up |
+--------------------------------------+--------------------+-------+-------------------+-------+----------------+
| 1b69828d-6a9b-4826-87cd-1757f0e27f31 | Linux bridge agent | HostA |                   | :-)   | True           |
| a0c1c21c-d4f4-4577-9ec7-908f2d48622d | DHCP agent         | HostA | nova              | :-)   | False          |
| f28aa126-6edb-4ea5-a81e-8850876bc0a8 | DHCP agent         | HostB | rack2             | xxx   | True           |
+--------------------------------------+--------------------+-------+-------------------+-------+----------------+
"""  # noqa: E501 (the table as printed)


def test_agent_list_long_adds_the_load(cli, neutron) -> None:
    seed_agents(neutron)
    rows = json.loads(cli("agent-list", "--long", "-f", "json").out)
    assert list(rows[0]) == ["id", "agent_type", "host", "availability_zone", "alive",
                             "admin_state_up", "load"]
    assert [(row["host"], row["availability_zone"], row["load"]) for row in rows] == [
        ("HostA", "", 0), ("HostA", "nova", 3), ("HostB", "rack2", 0)]


def test_agent_list_filters_on_a_zone(cli, neutron) -> None:
    seed_agents(neutron)
    cli("agent-list", "--availability-zone", "rack2")
    assert neutron.calls[-1] == ("GET", "/v2.0/agents?availability_zone=rack2", None)


def test_agent_list_keeps_faces_in_machine_formats(cli, neutron) -> None:
    seed_agents(neutron)
    rows = json.loads(cli("agent-list", "-f", "json").out)
    assert [(row["alive"], row["admin_state_up"]) for row in rows] == [
        (":-)", True), (":-)", False), ("xxx", True)]
    assert cli("agent-list", "-f", "value", "-c", "alive").out == ":-)\n:-)\nxxx\n"


def test_agent_list_filters_are_sent_as_query(cli, neutron) -> None:
    seed_agents(neutron)
    run = cli("agent-list", "--agent-type", "DHCP agent", "--host", "HostB", "-c", "id",
              "-f", "value")
    assert run.out == f"{DHCP_B}\n"
    assert neutron.calls[-1] == ("GET", "/v2.0/agents?agent_type=DHCP+agent&host=HostB", None)


def test_agent_show_prints_configurations_as_indented_json_and_alive_as_boolean(
        cli, neutron) -> None:
    neutron.add_agent(DHCP_A, "DHCP agent", "HostA", alive=False, binary="neutron-dhcp-agent",
                      configurations={"subnets": 1, "networks": 1, "ports": 3},
                      description=None, topic="dhcp_agent")
    run = cli("agent-show", DHCP_A)
    assert run.code == 0
    assert run.out == """\
+----------------+--------------------------------------+
| Field          | Value                                |
+----------------+--------------------------------------+
| admin_state_up | True                                 |
| agent_type     | DHCP agent                           |
| alive          | False                                |
| binary         | neutron-dhcp-agent                   |
| configurations | {                                    |
|                |  "subnets": 1,                       |
|                |  "networks": 1,                      |
|                |  "ports": 3                          |
|                | }                                    |
| description    |                                      |
| host           | HostA                                |
| id             | a0c1c21c-d4f4-4577-9ec7-908f2d48622d |
| topic          | dhcp_agent                           |
+----------------+--------------------------------------+
"""


def test_agent_show_json_keeps_configurations_structured(cli, neutron) -> None:
    neutron.add_agent(DHCP_A, "DHCP agent", "HostA", configurations={"networks": 2})
    shown = json.loads(cli("agent-show", DHCP_A, "-f", "json").out)
    assert shown["configurations"] == {"networks": 2}
    assert shown["alive"] is True


def test_agent_update_disables_agent_and_says_so(cli, neutron) -> None:
    seed_agents(neutron)
    run = cli("agent-update", "--admin-state-up", "False", DHCP_B)
    assert (run.code, run.out) == (0, f"Updated agent: {DHCP_B}\n")
    assert neutron.calls[-1] == ("PUT", f"/v2.0/agents/{DHCP_B}",
                                 {"agent": {"admin_state_up": False}})
    assert neutron.store["agents"][DHCP_B]["admin_state_up"] is False


def test_agent_update_sends_description(cli, neutron) -> None:
    seed_agents(neutron)
    assert cli("agent-update", DHCP_A, "--description", "rack 4").code == 0
    assert neutron.calls[-1][2] == {"agent": {"description": "rack 4"}}


def test_agent_update_without_changes_is_refused_before_any_request(cli, neutron) -> None:
    seed_agents(neutron)
    run = cli("agent-update", DHCP_A)
    assert run.code == 1
    assert "Nothing to update" in run.err
    assert neutron.calls == []


def test_agent_update_rejects_a_non_boolean_admin_state(cli, neutron) -> None:
    seed_agents(neutron)
    run = cli("agent-update", DHCP_A, "--admin-state-up", "maybe")
    assert run.code == 2
    assert "'maybe' is not a boolean" in run.err


def test_agent_delete_says_deleted_agent_with_its_id(cli, neutron) -> None:
    seed_agents(neutron)
    run = cli("agent-delete", DHCP_A)
    assert (run.code, run.out) == (0, f"Deleted agent: {DHCP_A}\n")
    assert DHCP_A not in neutron.store["agents"]


def test_agent_show_of_unknown_agent_prints_server_message(cli) -> None:
    run = cli("agent-show", DHCP_A)
    assert run.code == 1
    assert run.err == f"Agent {DHCP_A} could not be found.\n"
    assert run.out == ""


def test_agent_update_accepts_admin_state_down_flag(cli, neutron) -> None:
    seed_agents(neutron)
    assert cli("agent-update", DHCP_B, "--admin-state-down").code == 0
    assert neutron.calls[-1][2] == {"agent": {"admin_state_up": False}}
