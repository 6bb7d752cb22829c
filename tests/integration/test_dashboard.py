"""The dashboard's server side (docs/dashboard.md) on a real server: who may read it, what
its view says about a fleet with a dead agent (on SQLite, PostgreSQL and MariaDB), and its
event stream, which must end when the token goes and must not hold up a stopping server."""
from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from neutrino.services import fleet
from neutrino.services.moves import Moves
from tests.support.agents import agent_client, dhcp_state, l2_state
from tests.support.databases import ENGINES, fresh_database
from tests.support.fake_dhcp_hosts import FakeDhcpHosts
from tests.support.server import RunningServer, body_of, running_server, settings_for
from tests.support.server_process import ReplicaClient, server_process
from tests.support.waiting import wait_until

DATA = ("/dashboard/api/view", "/dashboard/api/stream")
DOWN = 2  # agent_down_time: the dead agent of the fleet test dies this fast


@pytest.fixture(scope="module", params=ENGINES)
def fleet_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RunningServer]:
    """A server whose agents die in DOWN seconds and keep their networks when they do (no
    failover), so a dead agent leaves its networks at risk."""
    with fresh_database(request.param, str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("state")),
                                agent_down_time=DOWN, dhcp_agents_per_network=2,
                                allow_automatic_dhcp_failover=False)
        with running_server(settings) as running:
            yield running


def view(client: httpx.Client, **params: Any) -> dict[str, Any]:
    return body_of(client.get("/dashboard/api/view", params=params))


def events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) of a text/event-stream response, as they arrive."""
    event, data = "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif not line and data:
            yield event, "\n".join(data)
            event, data = "message", []


def test_the_page_needs_no_token_and_holds_no_data(fleet_server: RunningServer) -> None:
    page = httpx.get(fleet_server.url + "/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="login"' in page.text and "/dashboard/static/dashboard.js" in page.text
    for asset, kind in (("dashboard.js", "javascript"), ("dashboard.css", "text/css")):
        got = httpx.get(f"{fleet_server.url}/dashboard/static/{asset}")
        assert got.status_code == 200 and kind in got.headers["content-type"]
    assert httpx.get(fleet_server.url + "/dashboard/static/absent.js").status_code == 404


@pytest.mark.parametrize("path", DATA)
def test_dashboard_data_needs_an_admin_token(fleet_server: RunningServer, path: str) -> None:
    url = fleet_server.url + path
    # Authentication comes before the parameters: a bad one gets no 400 without a token.
    for params in ({}, {"agent_size": "0"}):
        anonymous = httpx.get(url, params=params)
        assert anonymous.status_code == 401, anonymous.text
        assert "X-Auth-Token" in anonymous.json()["NeutronError"]["message"]
    forged = httpx.get(url, headers={"X-Auth-Token": "not-a-token"})
    assert forged.status_code == 401
    for who in ("member", "agent"):
        with fleet_server.client(who) as client:
            refused = client.get(path)
        assert refused.status_code == 403, refused.text
        assert "admin" in refused.json()["NeutronError"]["message"]
    with fleet_server.client("admin") as admin, admin.stream("GET", path) as allowed:
        assert allowed.status_code == 200


@pytest.mark.parametrize(("params", "message"), [
    ({"agent_size": "0"}, "agent page size 0 must be between 1 and 100"),
    ({"network_size": "101"}, "network page size 101 must be between 1 and 100"),
    ({"network_state": "doomed"}, "network filter 'doomed' is not one of"),
    ({"agent_state": "zombie"}, "agent filter 'zombie' is not one of"),
    ({"agent_search": "x" * 65}, "at most 64 are allowed"),
    ({"network_page": "-1"}, "network page number -1 must be between 0"),
    ({"agent_page": "two"}, "agent_page"),
])
def test_bad_view_parameters_are_refused_with_a_message(
        fleet_server: RunningServer, params: dict[str, str], message: str) -> None:
    with fleet_server.client("admin") as admin:
        refused = admin.get("/dashboard/api/view", params=params)
    assert refused.status_code == 400, refused.text
    assert message in refused.json()["NeutronError"]["message"]


def test_view_shows_a_dead_agent_and_the_networks_it_leaves_at_risk(
        fleet_server: RunningServer) -> None:
    hosts = ("DashA", "DashB", "DashC")
    with contextlib.closing(agent_client(fleet_server)) as agents, \
            fleet_server.client("admin") as admin:
        for host in hosts:
            agents.report_state(dhcp_state(host, start=True))
        names = [f"dash-{i}" for i in range(6)]
        for i, name in enumerate(names):
            net = body_of(admin.post("/v2.0/networks", json={"network": {"name": name}}))
            body_of(admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": net["network"]["id"], "cidr": f"10.{90 + i}.0.0/24"}}))
        body_of(admin.post("/v2.0/networks", json={"network": {"name": "dash-nodhcp"}}))
        by_host = {a["host"]: a["id"] for a in admin.get("/v2.0/agents").json()["agents"]}
        on_c = {n["name"] for n in admin.get(
            f"/v2.0/agents/{by_host['DashC']}/dhcp-networks").json()["networks"]}
        assert on_c, "DashC hosts none of the networks: nothing would be at risk"

        def c_dead() -> dict[str, Any] | None:
            for host in ("DashA", "DashB"):  # the others keep reporting
                agents.report_state(dhcp_state(host))
            shown = view(admin, agent_search="dash", agent_size=10, network_search="dash-",
                         network_size=10)
            alive = {a["host"]: a["alive"] for a in shown["agents"]["items"]}
            return shown if alive == {"DashA": True, "DashB": True, "DashC": False} else None

        shown = wait_until(c_dead, DOWN + 5, 0.2, "DashC dead on the dashboard")
        assert isinstance(shown, dict)
        rows = {n["name"]: n for n in shown["networks"]["items"]}
        assert set(rows) == {*names, "dash-nodhcp"}
        assert {n for n, row in rows.items() if row["at_risk"]} == on_c
        assert rows["dash-nodhcp"] == {**rows["dash-nodhcp"], "needs_dhcp": False,
                                       "at_risk": False, "agents": []}
        for name in on_c:
            assert {a["host"]: a["alive"] for a in rows[name]["agents"]}["DashC"] is False
        # These agents never confirm serving anything (networks_applied): all loading.
        assert {a["readiness"] for n in names for a in rows[n]["agents"]} == {"loading"}
        loads = {a["host"]: a["serves"] for a in shown["agents"]["items"]}
        assert loads["DashC"] == len(on_c) and sum(loads.values()) == 2 * len(names)

        # The filter, the summary and /metrics' fleet aggregates count the same networks.
        risky = view(admin, network_state="at_risk", network_search="dash-", network_size=10)
        assert {n["name"] for n in risky["networks"]["items"]} == on_c
        assert risky["networks"]["total"] == len(on_c)
        services = fleet_server.app.state.services
        aggregates = fleet.summarize(services.db, services.settings)
        assert aggregates.networks_at_risk == len(on_c)
        # The summary is at most SUMMARY_TTL (1 s) old.
        wait_until(lambda: view(admin)["summary"]["networks_at_risk"] == len(on_c), 3,
                   0.1, "the summary to count the networks at risk")
        dead = view(admin, agent_state="dead", agent_search="dash")["agents"]["items"]
        assert [a["host"] for a in dead] == ["DashC"]


def test_pages_and_search_cover_the_list_once(fleet_server: RunningServer) -> None:
    with fleet_server.client("admin") as admin:
        for i in range(5):
            body_of(admin.post("/v2.0/networks", json={"network": {"name": f"Page_{i}%"}}))
        seen: list[str] = []
        for page in range(3):
            shown = view(admin, network_search="page_", network_size=2, network_page=page)
            assert shown["networks"]["total"] == 5
            seen += [n["name"] for n in shown["networks"]["items"]]
        assert seen == [f"Page_{i}%" for i in range(5)]
        # % and _ are searched for as themselves; case does not matter.
        assert view(admin, network_search="E_3%")["networks"]["total"] == 1
        assert view(admin, network_search="page%")["networks"]["total"] == 0


def test_stream_pushes_the_view_and_ends_once_the_token_is_revoked(
        fleet_server: RunningServer) -> None:
    token = fleet_server.login("admin", "adminpassword", "admin")
    with httpx.Client(base_url=fleet_server.url, timeout=20,
                      headers={"X-Auth-Token": token}) as client, \
            client.stream("GET", "/dashboard/api/stream",
                          params={"agent_size": 3}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        received = events(response)
        kind, data = next(received)
        assert kind == "view" and '"agents"' in data
        kind, _ = next(received)
        assert kind == "view"  # a push a second
        revoked = httpx.delete(fleet_server.url + "/v3/auth/tokens",
                               headers={"X-Auth-Token": fleet_server.tokens["admin"],
                                        "X-Subject-Token": token})
        assert revoked.status_code == 204
        rest = [kind for kind, _ in received]
    assert rest[-1] == "refused" and set(rest[:-1]) <= {"view"}


def stream_in_thread(url: str, token: str) -> tuple[threading.Thread, list[str]]:
    """A dashboard's stream read to its end in a thread; the events it got."""
    got: list[str] = []

    def read() -> None:
        with httpx.Client(timeout=30, headers={"X-Auth-Token": token}) as client, \
                client.stream("GET", url + "/dashboard/api/stream") as response:
            got.extend(kind for kind, _ in events(response))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    wait_until(lambda: "view" in got, 10, message="the first push")
    return thread, got


def test_open_streams_do_not_hold_up_a_stopping_server(tmp_path: Path) -> None:
    """neutrino-server with api_workers = 2 and two open streams stops on SIGTERM at once."""
    with server_process(tmp_path, "api_workers = 2\n") as process:
        token = ReplicaClient.logged_in(process).tokens["admin"]
        readers = [stream_in_thread(process.url, token) for _ in range(2)]
        assert process.proc is not None
        start = time.monotonic()
        process.proc.terminate()
        assert process.proc.wait(10) == 0, process.tail()
        took = time.monotonic() - start
        for thread, got in readers:
            thread.join(5)
            assert got[-1] == "closing", got
    print(f"neutrino-server (2 workers, 2 open streams) stopped {took:.1f} s after SIGTERM")
    assert took < 5, process.tail()


def test_view_shows_a_move_in_progress_until_its_target_is_ready(
        fleet_server: RunningServer) -> None:
    """Drain and rebalance progress: a pending move is on the page, named by network and
    host, counted by kind, and gone once its target serves the network."""
    tag = uuid.uuid4().hex[:6]
    x, y = f"{tag}-mx", f"{tag}-my"
    with FakeDhcpHosts(fleet_server) as hosts, fleet_server.client() as client:
        hosts.start(x, l2=l2_state(x, start=True))
        hosts.start(y, l2=l2_state(y, start=True))
        net = body_of(client.post("/v2.0/networks", json={"network": {
            "name": f"{tag}-moving"}}))["network"]["id"]
        # No subnet: nothing schedules it, so x alone hosts it.
        body_of(client.post(f"/v2.0/agents/{hosts.ids[x]}/dhcp-networks",
                            json={"network_id": net}))
        hosts.confirm(x, [net])
        moves: Moves = fleet_server.app.state.services.moves
        moves.request(net, hosts.ids[x], hosts.ids[y], f"drain of agent {hosts.ids[x]}")
        shown = view(client)["moves"]
        assert shown["total"] == 1 and shown["by_kind"] == {"drain": 1}, shown
        assert [(m["network"], m["from"], m["to"], m["kind"]) for m in shown["items"]] == \
            [(f"{tag}-moving", x, y, "drain")]
        hosts.confirm(y, [net])
        wait_until(lambda: view(client)["moves"]["total"] == 0, 10, message="the move done")
