"""event-list: the agent history as a table, filters resolved like other commands do."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest
from cli_fake_neutron import FakeNeutron

from neutrino.cli.arguments import since

DHCP_A = "a0c1c21c-d4f4-4577-9ec7-908f2d48622d"
DHCP_B = "f28aa126-6edb-4ea5-a81e-8850876bc0a8"
L2_A = "0b3f1c6e-2f59-4a40-9d36-6f0b8f6f4e2a"
NET1 = "89dca1c6-c7d4-4f7a-b730-549af0fb6e34"


def seed(neutron: FakeNeutron) -> None:
    neutron.add_agent(DHCP_A, "DHCP agent", "HostA")
    neutron.add_agent(L2_A, "Linux bridge agent", "HostA")
    neutron.add_agent(DHCP_B, "DHCP agent", "HostB")
    neutron.add("networks", id=NET1, name="net1")
    neutron.note("registered", agent_id=DHCP_A, host="HostA", reason="first state report")
    neutron.note("scheduled", network_id=NET1, to_agent_id=DHCP_A, host="HostA",
                 reason="network needs DHCP (least loaded)")
    neutron.note("dead", agent_id=DHCP_A, host="HostA", reason="silent for 76 s")
    neutron.note("failover", network_id=NET1, from_agent_id=DHCP_A, to_agent_id=DHCP_B,
                 host="HostB", reason="agent on HostA silent for 76 s")
    neutron.note("removed", network_id=NET1, from_agent_id=DHCP_B, host="HostB",
                 actor="admin", actor_id="u1", reason="dhcp-agent-network-remove")


def test_event_list_shows_the_newest_first_in_a_table(cli, neutron) -> None:
    seed(neutron)
    run = cli("event-list", "-c", "kind", "-c", "agents")
    assert run.code == 0, run.err
    assert run.out == f"""\
+------------+------------------------------------------------------------------------------+
| kind       | agents                                                                       |
+------------+------------------------------------------------------------------------------+
| removed    | {DHCP_B} ->                                      |
| failover   | {DHCP_A} -> {DHCP_B} |
| dead       | {DHCP_A}                                         |
| scheduled  | -> {DHCP_A}                                      |
| registered | {DHCP_A}                                         |
+------------+------------------------------------------------------------------------------+
"""
    run = cli("event-list", "-f", "value", "-c", "actor")
    assert run.out.split() == ["admin", "server", "server", "server", "server"]
    assert neutron.calls[-1] == ("GET", "/v2.0/agent-history?limit=100", None)


def test_event_list_resolves_the_network_name_and_the_agents_of_a_host(cli, neutron) -> None:
    seed(neutron)
    run = cli("event-list", "--network", "net1", "--agent", "HostA", "-f", "value",
              "-c", "kind")
    assert run.code == 0, run.err
    assert run.out.split() == ["failover", "scheduled"]
    path = neutron.calls[-1][1]
    assert f"network_id={NET1}" in path
    assert f"agent_id={DHCP_A}" in path and f"agent_id={L2_A}" in path


def test_event_list_limit_and_kind(cli, neutron) -> None:
    seed(neutron)
    run = cli("event-list", "--kind", "dead", "--kind", "failover", "--limit", "1", "-f",
              "value", "-c", "kind")
    assert run.out.split() == ["failover"]
    run = cli("event-list", "--long", "-f", "value", "-c", "from_agent_id", "--limit", "2")
    assert run.out.split() == [DHCP_B, DHCP_A]


def test_event_list_follows_pages_up_to_the_limit(cli, neutron) -> None:
    for n in range(1500):
        neutron.note("move", reason=f"entry {n}")
    run = cli("event-list", "--limit", "1200", "-f", "value", "-c", "reason")
    lines = run.out.splitlines()
    assert len(lines) == 1200 and lines[0] == "entry 1499" and lines[-1] == "entry 300"
    assert [c[1] for c in neutron.calls] == ["/v2.0/agent-history?limit=1000",
                                             "/v2.0/agent-history?limit=200&marker=501"]


def test_event_list_refuses_an_unknown_host_and_a_bad_time(cli, neutron) -> None:
    seed(neutron)
    run = cli("event-list", "--agent", "HostZ")
    assert run.code != 0 and "No agent with id or host 'HostZ'" in run.err
    run = cli("event-list", "--since", "last week")
    assert run.code != 0 and "not a time" in run.err


def test_since_takes_an_age_or_an_iso_time() -> None:
    now = datetime(2026, 12, 1, 17, 0, 0, tzinfo=UTC)
    assert since("15m", now) == "2026-12-01T16:45:00Z"
    assert since("2d", now) == "2026-11-29T17:00:00Z"
    assert since("2026-12-01T10:00:00+01:00") == "2026-12-01T10:00:00+01:00"
    with pytest.raises(argparse.ArgumentTypeError):
        since("soon")
