"""Faults of the control plane itself: a server restart and a database outage move no
network of agents that kept reporting, the API answers 503 within its bound while the
database is away, and the server's loops log the outage once (issue 14, items 3, 5, 6)."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.engine import make_url

from neutrino.db.session import CONNECT_TIMEOUT, RETRY_BUDGET
from neutrino.services.clock import utcnow
from neutrino.transport.client import AgentServerClient, TransportError
from neutrino.transport.factory import make_agent_client
from neutrino.transport.rabbit_topology import parse_rabbit_url
from tests.support.agents import agent_client, dhcp_state
from tests.support.broker import delete_topology, require_rabbit, unique_exchange
from tests.support.databases import fresh_database
from tests.support.relay import CuttableRelay, cuttable_relay
from tests.support.server import USERS, RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

# The longest a request may take while the database refuses connections (docs/operations.md).
BOUND_503 = CONNECT_TIMEOUT + RETRY_BUDGET + 1.0
MOVED = "(failover)"


class Reporter:
    """Agents that report every `interval` s from a thread, as real agents do, whatever the
    server answers; hosts can join late."""

    def __init__(self, client: AgentServerClient, intervals: dict[str, float]) -> None:
        self.client = client
        self.intervals = dict(intervals)
        self.failures = 0
        self.reported: dict[str, int] = {}  # host -> reports the server answered
        self._next: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, host: str, interval: float) -> None:
        self.intervals[host] = interval

    def hold(self, host: str, seconds: float) -> None:
        """The host's next report goes out `seconds` from now (agents report in phases)."""
        self._next[host] = time.monotonic() + seconds

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            for host, interval in list(self.intervals.items()):
                if now < self._next.get(host, 0.0):
                    continue
                self._next[host] = now + interval
                try:
                    self.client.report_state(dhcp_state(host))
                except TransportError:
                    self.failures += 1  # the control plane is away: keep trying
                else:
                    self.reported[host] = self.reported.get(host, 0) + 1

    def each_reported(self, times: int) -> bool:
        """Every host's reports have been answered at least `times` times."""
        return all(self.reported.get(host, 0) >= times for host in list(self.intervals))

    def __enter__(self) -> Reporter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def hosts_of(server: RunningServer, network_id: str) -> list[str]:
    with server.client() as c:
        response = c.get(f"/v2.0/networks/{network_id}/dhcp-agents")
        assert response.status_code == 200, response.text
        return sorted(a["host"] for a in response.json()["agents"])


def only_these_agents_take_networks(server: RunningServer) -> None:
    with server.client() as c:
        for agent in c.get("/v2.0/agents").json()["agents"]:
            c.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"admin_state_up": False}})


def network_on_one_agent(server: RunningServer, name: str, cidr: str) -> str:
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
        c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": cidr}})
    return str(net["id"])


def failover_moves(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if MOVED in r.getMessage()]


# ---- server restart -----------------------------------------------------------------------

RESTART_DOWN = 3


# PostgreSQL here: SQLite and MariaDB restarts run with real processes in
# tests/e2e/test_control_plane_faults_e2e.py.
@pytest.fixture(params=["postgresql"])
def restart_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[str]:
    with fresh_database(request.param, str(tmp_path_factory.mktemp("restart"))) as url:
        yield url


def test_a_server_restart_moves_nothing_and_fails_over_only_after_hearing_grace(
        restart_db: str, tmp_path_factory: pytest.TempPathFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    tag = uuid.uuid4().hex[:6]
    a, b, c = f"ra-{tag}", f"rb-{tag}", f"rc-{tag}"
    settings = settings_for(restart_db, str(tmp_path_factory.mktemp("restart")),
                            agent_down_time=RESTART_DOWN)
    with running_server(settings) as first:
        port = int(first.url.rsplit(":", 1)[1])
        only_these_agents_take_networks(first)
        client = agent_client(first)
        for host in (a, b, c):
            client.report_state(dhcp_state(host, start=True))
        nets = [network_on_one_agent(first, f"restart-{i}", f"10.71.{i}.0/24")
                for i in range(3)]
        placed = {hosts_of(first, n)[0]: n for n in nets}
        assert sorted(placed) == sorted([a, b, c])
        with Reporter(client, {a: 0.5, b: 0.5, c: 0.5}) as reporter:
            # steady reporting, as before any restart
            wait_until(lambda: reporter.each_reported(2), 10, message="two reports each")
    # The scenario, not a synchronisation: no server runs for three agent_down_times, so
    # every heartbeat is long stale when the next one starts.
    time.sleep(3 * RESTART_DOWN)
    caplog.clear()
    with running_server(settings, port=port) as second:
        hearing = second.app.state.services.hearing.since()
        assert hearing is not None
        client = agent_client(second)
        with Reporter(client, {a: 0.5}) as reporter:
            # b reports again only 1.5 s into hearing, later than a (the old server moved
            # b's network to a at this point); c never reports again.
            wait_until(lambda: utcnow() >= hearing + timedelta(seconds=1.5), 5)
            reporter.add(b, 0.5)
            wait_until(lambda: hosts_of(second, placed[c]) != [c], RESTART_DOWN + 5,
                       interval=0.05, message="c's network to fail over")
            moved_at = utcnow()
            assert hosts_of(second, placed[a]) == [a]
            assert hosts_of(second, placed[b]) == [b]
            assert hosts_of(second, placed[c])[0] in (a, b)
    after_hearing = (moved_at - hearing).total_seconds()
    assert after_hearing > RESTART_DOWN, f"moved {after_hearing:.2f} s into hearing"
    moves = failover_moves(caplog)
    assert len(moves) == 1 and placed[c] in moves[0], moves
    assert "failover verdicts resume at" in caplog.text
    print(f"restart: c's network moved {after_hearing:.2f} s after hearing began "
          f"(agent_down_time {RESTART_DOWN} s)")


# ---- database outage ----------------------------------------------------------------------

OUTAGE_DOWN = 2


@pytest.fixture(params=["postgresql", "mariadb"])
def relayed_database(request: pytest.FixtureRequest, tmp_path: object
                     ) -> Iterator[tuple[str, CuttableRelay]]:
    """A fresh database reached through a relay the test can cut (the real server stays
    up for everyone else)."""
    with fresh_database(request.param, str(tmp_path)) as url:
        parsed = make_url(url)
        with cuttable_relay((parsed.host or "127.0.0.1", parsed.port or 0)) as relay:
            yield parsed.set(port=relay.port).render_as_string(hide_password=False), relay


def timed(call: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()  # type: ignore[operator]
    return response, time.monotonic() - started


def login_body() -> dict[str, object]:
    name, password, project = USERS["admin"]
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}


def test_a_database_outage_answers_503_moves_nothing_and_is_logged_once(
        relayed_database: tuple[str, CuttableRelay], tmp_path_factory: pytest.TempPathFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    url, relay = relayed_database
    tag = uuid.uuid4().hex[:6]
    a, b = f"oa-{tag}", f"ob-{tag}"
    settings = settings_for(url, str(tmp_path_factory.mktemp("outage")),
                            agent_down_time=OUTAGE_DOWN)
    with running_server(settings) as server:
        client = agent_client(server)
        for host in (a, b):
            client.report_state(dhcp_state(host, start=True))
        nets = [network_on_one_agent(server, f"outage-{i}", f"10.72.{i}.0/24")
                for i in range(2)]
        placed = {hosts_of(server, n)[0]: n for n in nets}
        assert sorted(placed) == sorted([a, b])
        with Reporter(client, {a: 0.3, b: 1.0}) as reporter, httpx.Client(
                base_url=server.url, timeout=30) as http:
            admin = {"X-Auth-Token": server.tokens["admin"]}
            agent = {"X-Auth-Token": server.tokens["agent"]}
            wait_until(lambda: reporter.each_reported(2), 10,
                       message="steady reporting before the fault")
            # (Another test run may stop the database server itself for a while.)
            wait_until(lambda: server.db.reachable and
                       server.app.state.services.hearing.since() is not None, 30,
                       message="the database to be reachable before the cut")
            caplog.clear()
            relay.cut()
            cut_at = time.monotonic()
            answers = {
                "network-list": timed(lambda: http.get("/v2.0/networks", headers=admin)),
                "agent-list": timed(lambda: http.get("/v2.0/agents", headers=admin)),
                "network-create": timed(lambda: http.post(
                    "/v2.0/networks", json={"network": {"name": "x"}}, headers=admin)),
                "token": timed(lambda: http.post("/v3/auth/tokens", json=login_body())),
                "report_state": timed(lambda: http.post(
                    "/agent-rpc/v1/report_state", headers=agent,
                    json=dhcp_state(a).model_dump())),
                "events": timed(lambda: http.get(
                    "/agent-rpc/v1/events", params={"host": a, "after": -1}, headers=agent)),
            }
            for what, (response, took) in answers.items():
                assert response.status_code == 503, (what, response.text)
                assert response.headers["retry-after"], what
                assert took < BOUND_503, f"{what} took {took:.2f} s"
                body = response.json()
                if what == "token":  # Keystone clients read Keystone's error body
                    assert body["error"]["code"] == 503, body
                    message = body["error"]["message"]
                else:
                    assert body["NeutronError"]["type"] == "ServiceUnavailable", body
                    message = body["NeutronError"]["message"]
                assert "database" in message and "retry" in message, message
            # The scenario: the database stays away for three agent_down_times.
            time.sleep(max(0.0, cut_at + 3 * OUTAGE_DOWN - time.monotonic()))
            # b's next report comes 1.5 s after the database is back, a's within 0.3 s: a
            # failover that counted the outage against b would move b's network to a now.
            reporter.hold(b, 1.5)
            relay.restore()
            restored_at = time.monotonic()
            wait_until(lambda: http.get("/v2.0/networks", headers=admin).status_code == 200,
                       10, interval=0.1, message="the API to answer again")
            back_after = time.monotonic() - restored_at
            # Past agent_down_time of hearing: the moment a verdict could first be made.
            wait_until(lambda: server.app.state.services.hearing.since() is not None
                       and utcnow() > server.app.state.services.hearing.since()
                       + timedelta(seconds=OUTAGE_DOWN + 1.5), OUTAGE_DOWN + 10,
                       message="agent_down_time of hearing")
            assert hosts_of(server, placed[a]) == [a]
            assert hosts_of(server, placed[b]) == [b]
            with server.client() as c:
                alive = {x["host"]: x["alive"] for x in c.get("/v2.0/agents").json()["agents"]}
            assert alive == {a: True, b: True}
    assert failover_moves(caplog) == []
    loops = [r for r in caplog.records if r.name == "neutrino.api.loops"]
    warnings = [r.getMessage() for r in loops if r.levelno == logging.WARNING]
    failover_warnings = [m for m in warnings if m.startswith("DHCP failover")]
    assert len(failover_warnings) == 1, warnings
    # One warning per loop at most: failover, and the heartbeat flush, the fleet copy's
    # heartbeat pass, the moves check and the token revocation refresh when they had work
    # during the outage.
    failing = [m.split(" failed")[0] for m in warnings]
    assert len(failing) == len(set(failing)), warnings
    assert set(failing) <= {"DHCP failover", "heartbeat flush", "fleet heartbeat refresh",
                            "DHCP network moves",
                            "token revocation refresh"}, warnings
    recovered = [r.getMessage() for r in loops if r.levelno == logging.INFO]
    assert len(recovered) == len(warnings), recovered
    deaf = [r for r in caplog.records if "cannot hear agents" in r.getMessage()]
    assert len(deaf) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], \
        [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    print("outage: " + ", ".join(f"{w} {t:.3f} s" for w, (_, t) in answers.items())
          + f"; API back {back_after:.2f} s after the database")


# ---- broker outage ------------------------------------------------------------------------

BROKER_DOWN = 4


def test_a_broker_outage_pauses_verdicts_until_the_link_is_back_and_moves_nothing(
        tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    broker = parse_rabbit_url(require_rabbit())
    exchange = unique_exchange()
    tmp = str(tmp_path_factory.mktemp("broker"))
    tag = uuid.uuid4().hex[:6]
    a, b = f"ka-{tag}", f"kb-{tag}"
    with cuttable_relay((broker.host, broker.port)) as relay, \
            fresh_database("sqlite", tmp) as url:
        # Server and agents reach the broker through the relay, as through a network.
        relayed = f"rabbit://{broker.userid}:{broker.password}@127.0.0.1:{relay.port}/"
        settings = settings_for(url, tmp, agent_down_time=BROKER_DOWN,
                                transport_url=relayed, control_exchange=exchange)
        try:
            with running_server(settings) as server:
                hearing = server.app.state.services.hearing
                # 30 s: another test run may be restarting RabbitMQ itself for a while.
                wait_until(lambda: hearing.since() is not None, 30,
                           message="the server's broker link")
                client = make_agent_client(relayed, control_exchange=exchange)
                try:
                    for host in (a, b):
                        client.report_state(dhcp_state(host, start=True))
                    nets = [network_on_one_agent(server, f"broker-{i}", f"10.73.{i}.0/24")
                            for i in range(2)]
                    placed = {hosts_of(server, n)[0]: n for n in nets}
                    assert sorted(placed) == sorted([a, b])
                    with Reporter(client, {a: 0.5, b: 0.5}) as reporter:
                        relay.cut()
                        cut_at = time.monotonic()
                        wait_until(lambda: hearing.since() is None, 5,
                                   message="the server to notice the broker is gone")
                        # The scenario: the broker stays away for two agent_down_times.
                        time.sleep(max(0.0, cut_at + 2 * BROKER_DOWN - time.monotonic()))
                        restored = utcnow()
                        relay.restore()
                        since = wait_until(hearing.since, 30, interval=0.05,
                                           message="the server's link to come back")
                        assert since >= restored
                        # b is heard 2 s after the server's link is back, a at once: a
                        # failover that counted the outage against b would move it now.
                        reporter.hold(b, 2.0)
                        wait_until(lambda: utcnow() > since + timedelta(
                            seconds=BROKER_DOWN + 1), BROKER_DOWN + 5,
                            message="agent_down_time of hearing")
                        assert hosts_of(server, placed[a]) == [a]
                        assert hosts_of(server, placed[b]) == [b]
                finally:
                    client.close()
        finally:
            delete_topology(require_rabbit(), exchange)
    assert failover_moves(caplog) == []
    deaf = [r.getMessage() for r in caplog.records if "cannot hear agents" in r.getMessage()]
    assert len(deaf) == 1 and "RabbitMQ link" in deaf[0], deaf
    print(f"broker: hearing resumed {(since - restored).total_seconds():.2f} s after the "
          f"broker came back")
