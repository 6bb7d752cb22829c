"""The agent history (issue 12 item 2) on a real server, on every database: what an
operator reads at GET /v2.0/agent-history after agents register, change state, die and
come back, and after networks are scheduled, added, removed and failed over."""
from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from neutrino.cli.main import main
from neutrino.db import migrate
from neutrino.db.models import Agent, AgentHistory
from neutrino.db.session import Database
from neutrino.services import history
from neutrino.services.clock import utcnow
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agents import Hosts, agent_client, dhcp_state
from tests.support.databases import fresh_database
from tests.support.server import (
    USERS,
    RunningServer,
    body_of,
    free_port,
    running_server,
    settings_for,
)
from tests.support.server_process import (
    ReplicaClient,
    ServerProcess,
    bootstrap_users,
    running,
    server_conf,
)
from tests.support.waiting import wait_until

DOWN_TIME = 2
# Deadlines, not waits: generous, for a machine shared by many test runs.
PATIENCE = 30
PATH = "/v2.0/agent-history"


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    settings = settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN_TIME, dhcp_agents_per_network=1)
    with running_server(settings) as running:
        yield running


def read(server: RunningServer, **params: Any) -> list[dict[str, Any]]:
    with server.client() as c:
        entries: list[dict[str, Any]] = body_of(c.get(PATH, params=params))["agent_history"]
    return entries


def kinds(entries: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in entries]


def admin_id(server: RunningServer) -> str:
    with server.client() as c:
        token = server.tokens["admin"]
        answer = c.get("/v3/auth/tokens", headers={"X-Subject-Token": token})
    return str(body_of(answer)["token"]["user"]["id"])


def new_network(c: httpx.Client, name: str) -> str:
    return str(body_of(c.post("/v2.0/networks", json={"network": {"name": name}}))
               ["network"]["id"])


def test_only_admins_read_the_history(server: RunningServer) -> None:
    for who, status in ((None, 401), ("member", 403), ("agent", 403)):
        with server.client(who) as c:
            answer = c.get(PATH)
        assert answer.status_code == status, answer.text
        assert "NeutronError" in answer.json()
    assert isinstance(read(server), list)


def test_an_agents_life_is_in_its_history(server: RunningServer) -> None:
    host = f"hist-life-{uuid.uuid4().hex[:6]}"
    agent_id = agent_client(server).report_state(dhcp_state(host, start=True)).agent_id
    with server.client() as c:
        for state in (False, False, True):  # the second False changes nothing: no entry
            body_of(c.put(f"/v2.0/agents/{agent_id}",
                          json={"agent": {"admin_state_up": state}}))
        assert c.delete(f"/v2.0/agents/{agent_id}").status_code == 204
    # (Without heartbeats it may also have been noted dead meanwhile: not asked for here.)
    entries = read(server, agent_id=agent_id,
                   kind=["registered", "disabled", "enabled", "deleted"])
    assert kinds(entries) == ["deleted", "enabled", "disabled", "registered"]  # newest first
    registered = entries[-1]
    assert registered["actor"] == "server" and registered["actor_id"] is None
    assert registered["host"] == host and registered["agent_id"] == agent_id
    user_id = admin_id(server)
    for entry in entries[:3]:
        assert (entry["actor"], entry["actor_id"], entry["host"]) == ("admin", user_id, host)
    assert entries[0]["created_at"] >= entries[-1]["created_at"]


def test_scheduling_and_manual_changes_name_who_made_them(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    hosts = [f"hist-man-a-{tag}", f"hist-man-b-{tag}"]
    with Hosts(server) as beating, server.client() as c:
        ids = [beating.start(h, None) for h in hosts]
        net = new_network(c, f"hist-manual-{tag}")
        body_of(c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net, "cidr": "10.61.0.0/24", "ip_version": 4}}))
        [scheduled] = read(server, network_id=net)
        assert scheduled["kind"] == "scheduled" and scheduled["actor"] == "server"
        assert "created" in scheduled["reason"] and scheduled["to_agent_id"]
        first = scheduled["to_agent_id"]
        other = ids[1] if first == ids[0] else ids[0]
        assert c.delete(f"/v2.0/agents/{first}/dhcp-networks/{net}").status_code == 204
        body_of(c.post(f"/v2.0/agents/{other}/dhcp-networks", json={"network_id": net}))
    added, removed, _ = read(server, network_id=net)
    user_id = admin_id(server)
    assert (removed["kind"], removed["from_agent_id"], removed["to_agent_id"]) == \
        ("removed", first, None)
    assert (added["kind"], added["to_agent_id"], added["from_agent_id"]) == \
        ("added", other, None)
    for entry in (added, removed):
        assert (entry["actor"], entry["actor_id"], entry["network_id"]) == \
            ("admin", user_id, net)
    assert added["host"] in hosts
    # An agent's filter finds it at either end of a binding change.
    assert [e["id"] for e in read(server, agent_id=other, network_id=net)] == [added["id"]]
    # The CLI resolves the network's name and the agent's host.
    other_host = hosts[ids.index(other)]
    table = cli(server, "event-list", "--network", f"hist-manual-{tag}", "--agent", other_host,
                "--since", "1h")
    assert [row.split("|")[2].strip() for row in table.splitlines()
            if row.startswith("| ")][1:] == ["added"]
    listed = json.loads(cli(server, "event-list", "--network", net, "-f", "json"))
    assert [(e["kind"], e["actor"]) for e in listed] == \
        [("added", "admin"), ("removed", "admin"), ("scheduled", "server")]


def cli(server: RunningServer, *args: str) -> str:
    user, password, project = USERS["admin"]
    out, err = io.StringIO(), io.StringIO()
    code = main(["--os-auth-url", f"{server.url}/v2.0", "--os-username", user,
                 "--os-password", password, "--os-tenant-name", project, *args],
                stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def test_a_dead_agent_is_noted_once_before_its_failover_and_again_when_back(
        server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    dying, survivor = f"hist-dead-a-{tag}", f"hist-dead-b-{tag}"
    with Hosts(server) as beating, server.client() as c:
        dead_id, _ = beating.start(dying, None), beating.start(survivor, None)
        net = new_network(c, "hist-failover")
        body_of(c.post(f"/v2.0/agents/{dead_id}/dhcp-networks", json={"network_id": net}))
        beating.silence(dying)  # the (fake) agent dies: its heartbeats stop

        def failed_over() -> list[dict[str, Any]]:
            # Only our network's move: another test's network may fail over *to* this
            # agent meanwhile (its agents die when that test ends), which the agent's
            # filter finds too.
            return read(server, network_id=net, kind="failover")

        wait_until(failed_over, DOWN_TIME + PATIENCE, 0.1, "the failover in the history")
        [moved] = failed_over()
        # On a loaded machine the agent may have flapped before it stopped for good; what
        # holds is that a death is told before the move it causes.
        dead = max((e for e in read(server, agent_id=dead_id)
                    if e["kind"] == "dead" and e["id"] < moved["id"]),
                   key=lambda e: int(e["id"]), default=None)
        assert dead is not None, "the death is told before the move it causes"
        assert dead["actor"] == "server" and dead["host"] == dying
        assert "silent" in dead["reason"]
        assert (moved["network_id"], moved["from_agent_id"]) == (net, dead_id)
        assert moved["to_agent_id"] and moved["to_agent_id"] != dead_id
        assert moved["actor"] == "server"
        beating.start(dying, None)  # it comes back (a restarted agent)
        wait_until(lambda: any(e["kind"] == "alive_again" and e["id"] > moved["id"]
                               for e in read(server, agent_id=dead_id)),
                   PATIENCE, 0.1, "the agent alive again in the history")
    # Each transition once: deaths and revivals alternate, oldest first.
    liveness = [k for k in reversed(kinds(read(server, agent_id=dead_id)))
                if k in ("dead", "alive_again")]
    assert liveness[0] == "dead", liveness
    assert all(liveness[n] != liveness[n + 1] for n in range(len(liveness) - 1)), liveness


def test_many_watchers_note_each_transition_once(server: RunningServer, db_url: str) -> None:
    """Replicas and API workers all watch liveness: the conditional UPDATE lets one note it."""
    now = utcnow()
    agent_id = str(uuid.uuid4())
    server.db.run(lambda session: session.add(Agent(
        id=agent_id, agent_type="DHCP agent", binary="neutrino-dhcp-agent", topic="dhcp_agent",
        host=f"hist-watch-{agent_id[:6]}", admin_state_up=True, description="",
        configurations={}, resource_versions={}, load=0, created_at=now, started_at=now,
        heartbeat_timestamp=now - timedelta(hours=1))))
    databases = [Database(db_url) for _ in range(4)]
    watchers = [history.History(db, server.settings, lambda: now - timedelta(hours=2))
                for db in databases]

    def all_watch() -> None:
        start = threading.Barrier(len(watchers))

        def watch(watcher: history.History) -> None:
            start.wait(10)
            for _ in range(5):
                watcher.watch_liveness()

        threads = [threading.Thread(target=watch, args=(w,)) for w in watchers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    def noted(kind: str) -> int:
        with server.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(AgentHistory).where(
                AgentHistory.agent_id == agent_id, AgentHistory.kind == kind)) or 0)

    try:
        all_watch()
        assert noted("dead") == 1
        server.db.run(lambda session: session.execute(
            update(Agent).where(Agent.id == agent_id).values(heartbeat_timestamp=utcnow())))
        all_watch()
        assert (noted("dead"), noted("alive_again")) == (1, 1)
    finally:
        for db in databases:
            db.dispose()


def _note_many(server: RunningServer, network_id: str, kinds_: list[str],
               when: datetime | None = None) -> None:
    agent = str(uuid.uuid4())

    def work(session: Session) -> None:
        for kind in kinds_:
            history.note(session, kind, network_id=network_id, to_agent=agent,
                         reason="test", now=when)

    server.db.run(work)


def test_pages_run_newest_first_and_filters_combine(server: RunningServer) -> None:
    net = str(uuid.uuid4())
    _note_many(server, net, ["scheduled", "removed", "added", "drain", "rebalance"])
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] | None = {"network_id": net, "limit": 2}
    with server.client() as c:
        url: str | None = PATH
        while url:
            page = body_of(c.get(url, params=params))
            params = None  # the next link carries the query
            assert len(page["agent_history"]) <= 2
            seen += page["agent_history"]
            links = page.get("agent_history_links", [])
            url = links[0]["href"] if links else None
    assert kinds(seen) == ["rebalance", "drain", "added", "removed", "scheduled"]
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    assert kinds(read(server, network_id=net, kind=["drain", "added"])) == ["drain", "added"]
    assert read(server, network_id=net, since=(utcnow() + timedelta(hours=1)).isoformat()
                + "Z") == []
    assert len(read(server, network_id=net, since="2000-01-01T00:00:00+02:00")) == 5
    assert len(read(server, network_id=net, since="0001-01-01T00:00:00")) == 5
    assert read(server, network_id=net, since="9999-12-31T23:59:59.999999") == []
    trimmed = read(server, network_id=net, fields=["kind", "id"], limit=1)
    assert trimmed == [{"id": seen[0]["id"], "kind": "rebalance"}]


@pytest.mark.parametrize("params", [
    {"bogus": "1"}, {"since": "yesterday"}, {"kind": "exploded"}, {"limit": "-1"},
    {"limit": "many"}, {"marker": "abc"}, {"marker": "0"}, {"fields": "password"},
    {"marker": ["5", "6"]}, {"agent_id": [str(i) for i in range(101)]},
    {"since": "9999-12-31T23:59:59-14:00"}, {"since": "0001-01-01T00:00:00+14:00"},
])
def test_bad_queries_are_refused_with_a_message(server: RunningServer,
                                                params: dict[str, Any]) -> None:
    with server.client() as c:
        answer = c.get(PATH, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["NeutronError"]["message"]


def test_retention_deletes_old_entries_and_keeps_recent_ones(server: RunningServer) -> None:
    net = str(uuid.uuid4())
    _note_many(server, net, ["drain"], when=utcnow() - timedelta(days=40))
    _note_many(server, net, ["rebalance"])
    keeper = history.History(server.db, server.settings.replace(
        event_history_retention_days=30, event_history_max_rows=0), lambda: None)
    assert keeper.prune() >= 1
    assert kinds(read(server, network_id=net)) == ["rebalance"]


def test_the_server_enforces_a_row_bound(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The pruning loop runs at start and then once a minute: at start is enough here."""
    tmp = str(tmp_path_factory.mktemp("rows"))
    with fresh_database("sqlite", tmp) as url:
        db = Database(url)
        migrate.upgrade(db.engine)
        db.run(lambda session: [history.note(session, "move", reason=f"entry {n}")
                                for n in range(30)])
        db.dispose()
        settings = settings_for(url, tmp, event_history_max_rows=10)
        with running_server(settings) as running:
            wait_until(lambda: len(read(running)) <= 10, PATIENCE, 0.1, "the row bound enforced")
            assert [e["reason"] for e in read(running)][:3] == \
                ["entry 29", "entry 28", "entry 27"]


def test_api_workers_note_each_death_once(tmp_path: Path) -> None:
    """A server with two API workers on PostgreSQL: two processes watch one database (as
    replicas do; test_many_watchers_note_each_transition_once races four at once).

    The agent dies, comes back and dies again; by the second death both workers have
    looked many times at the first, so a duplicate would be there."""
    with fresh_database("postgresql", str(tmp_path)) as url:
        conf, port = tmp_path / "neutron.conf", free_port()
        conf.write_text(server_conf(port=port, state_path=tmp_path, db_url=url,
                                    agent_down_time=DOWN_TIME, extra="api_workers = 2\n"))
        server = ServerProcess("workers", conf, port, tmp_path / "server.log")
        bootstrap_users(conf)
        with running([server]):
            name, password, project = USERS["agent"]
            agent = HttpAgentClient(server.url, name, password, project)
            host = f"hist-workers-{uuid.uuid4().hex[:6]}"
            agent_id = agent.report_state(dhcp_state(host, start=True)).agent_id
            api = ReplicaClient.logged_in(server).client()

            def noted() -> list[str]:
                answer = api.get(PATH, params={"agent_id": agent_id})
                return kinds(body_of(answer)["agent_history"])

            wait_until(lambda: "dead" in noted(), DOWN_TIME + PATIENCE, 0.1, "the first death")
            agent.report_state(dhcp_state(host))
            wait_until(lambda: "alive_again" in noted(), PATIENCE, 0.1, "the revival")
            wait_until(lambda: noted().count("dead") >= 2, DOWN_TIME + PATIENCE, 0.1,
                       "the second death")
            assert noted() == ["dead", "alive_again", "dead", "registered"]
            agent.close()
            api.close()
