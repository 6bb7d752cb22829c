"""Every controller command of the seed's walk-through, run with `neutrino` against the real
server (real keystone-style auth), with test agents reporting as HostA and HostB."""
from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator

import pytest

from neutrino.cli.main import main
from tests.support.agents import agent_client, register
from tests.support.server import USERS, RunningServer, running_server, settings_for


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # A server of its own, so that agent-list shows exactly the seed's four agents.
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")), agent_down_time=30)
    with running_server(settings) as running:
        yield running


def run(server: RunningServer, *args: str, who: str = "admin", version: str = "v2.0"
        ) -> tuple[int, str, str]:
    user, password, project = USERS[who]
    out, err = io.StringIO(), io.StringIO()
    code = main(["--os-auth-url", f"{server.url}/{version}", "--os-username", user,
                 "--os-password", password, "--os-tenant-name", project, *args],
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def ok(server: RunningServer, *args: str, **kw: str) -> str:
    code, out, err = run(server, *args, **kw)
    assert code == 0, (args, out, err)
    return out


def header(table: str) -> list[str]:
    line = [row for row in table.splitlines() if row.startswith("|")][0]
    return [cell.strip() for cell in line.strip("|").split("|")]


def rows(table: str) -> list[list[str]]:
    lines = [row for row in table.splitlines() if row.startswith("|")][1:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_seed_walkthrough_with_the_cli(server: RunningServer) -> None:
    client = agent_client(server)
    register(client, "HostA")
    register(client, "HostB")

    out = ok(server, "ext-list", "-c", "name", "-c", "alias")
    assert header(out) == ["alias", "name"]  # the seed prints them in this order
    assert ["agent_scheduler", "Agent Schedulers"] in rows(out)

    out = ok(server, "agent-list")
    assert header(out) == ["id", "agent_type", "host", "availability_zone", "alive",
                           "admin_state_up"]
    listed = rows(out)
    assert sorted((r[1], r[2], r[3], r[4], r[5]) for r in listed) == [
        ("DHCP agent", "HostA", "nova", ":-)", "True"),
        ("DHCP agent", "HostB", "nova", ":-)", "True"),
        ("Linux bridge agent", "HostA", "", ":-)", "True"),
        ("Linux bridge agent", "HostB", "", ":-)", "True")]
    dhcp = {r[2]: r[0] for r in listed if r[1] == "DHCP agent"}
    l2b = next(r[0] for r in listed if r[1] == "Linux bridge agent" and r[2] == "HostB")

    out = ok(server, "agent-show", dhcp["HostA"])
    fields = {r[0] for r in rows(out) if r[0]}
    assert {"admin_state_up", "agent_type", "alive", "binary", "configurations", "created_at",
            "description", "heartbeat_timestamp", "host", "id", "started_at",
            "topic"} <= fields
    assert '"use_namespaces": true' in out
    out = ok(server, "agent-show", l2b)
    assert '"physnet1": "eth0"' in out

    ok(server, "net-create", "net1")
    ok(server, "subnet-create", "net1", "10.0.1.0/24", "--name", "subnet1")
    out = ok(server, "dhcp-agent-list-hosting-net", "net1")
    assert header(out) == ["id", "host", "admin_state_up", "alive"]
    assert len(rows(out)) == 1 and rows(out)[0][3] == ":-)"

    ok(server, "net-create", "net2")
    ok(server, "subnet-create", "net2", "9.0.1.0/24", "--name", "subnet2")
    ok(server, "port-create", "net2")
    first = rows(ok(server, "dhcp-agent-list-hosting-net", "net2"))
    assert len(first) == 1
    other = "HostB" if first[0][1] == "HostA" else "HostA"

    out = ok(server, "dhcp-agent-network-add", dhcp[other], "net2")
    assert "Added network net2 to DHCP agent" in out
    both = rows(ok(server, "dhcp-agent-list-hosting-net", "net2"))
    assert sorted(r[1] for r in both) == ["HostA", "HostB"]

    out = ok(server, "net-list-on-dhcp-agent", dhcp[other])
    assert header(out) == ["id", "name", "subnets"]
    assert any(r[1] == "net2" and re.search(r" 9\.0\.1\.0/24$", r[2]) for r in rows(out))

    out = ok(server, "dhcp-agent-network-remove", dhcp["HostA"], "net2")
    assert "Removed network net2" in out
    assert [r[1] for r in rows(ok(server, "dhcp-agent-list-hosting-net", "net2"))] == ["HostB"]
    ok(server, "dhcp-agent-network-add", dhcp["HostA"], "net2")

    out = ok(server, "net-list")
    assert header(out) == ["id", "name", "subnets"]
    names = {r[1]: r[2] for r in rows(out)}
    assert names["net1"].endswith("10.0.1.0/24") and names["net2"].endswith("9.0.1.0/24")

    ok(server, "agent-update", "--admin-state-up", "False", dhcp["HostA"])
    state = {r[0]: r[5] for r in rows(ok(server, "agent-list"))}
    assert state[dhcp["HostA"]] == "False"
    ok(server, "net-create", "net3")
    ok(server, "subnet-create", "net3", "9.0.3.0/24")
    assert [r[1] for r in rows(ok(server, "dhcp-agent-list-hosting-net", "net3"))] == ["HostB"]

    out = ok(server, "agent-delete", dhcp["HostA"])
    assert f"Deleted agent: {dhcp['HostA']}" in out
    assert dhcp["HostA"] not in ok(server, "agent-list")
    register(client, "HostA")
    listed = rows(ok(server, "agent-list"))
    back = [r for r in listed if r[1] == "DHCP agent" and r[2] == "HostA"]
    assert len(back) == 1 and back[0][0] != dhcp["HostA"]


def test_cli_v3_auth_and_json_output(server: RunningServer) -> None:
    out = ok(server, "net-list", "-f", "json", version="v3")
    assert isinstance(json.loads(out), list)


def test_cli_member_is_refused_agent_and_scheduler_commands(server: RunningServer) -> None:
    name = f"m-{uuid.uuid4().hex[:6]}"
    ok(server, "net-create", name, who="member")
    agent_id = rows(ok(server, "agent-list"))[0][0]
    for args in (("agent-list",), ("agent-show", agent_id),
                 ("agent-update", "--admin-state-up", "False", agent_id),
                 ("agent-delete", agent_id), ("dhcp-agent-list-hosting-net", name),
                 ("net-list-on-dhcp-agent", agent_id),
                 ("dhcp-agent-network-add", agent_id, name),
                 ("dhcp-agent-network-remove", agent_id, name)):
        code, out, err = run(server, *args, who="member")
        assert code != 0, args
        assert "policy" in err.lower() or "admin" in err.lower(), (args, err)


def test_cli_reports_ambiguous_names_and_server_errors(server: RunningServer) -> None:
    ok(server, "net-create", "twin")
    ok(server, "net-create", "twin")
    code, _, err = run(server, "dhcp-agent-list-hosting-net", "twin")
    assert code != 0 and "twin" in err
    code, _, err = run(server, "subnet-create", "net1", "10.0.1.0/33")
    assert code != 0 and "10.0.1.0/33" in err
