"""Two neutrino-server processes, one PostgreSQL database, one RabbitMQ: either can die."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from neutrino.agent_protocol.messages import Event
from neutrino.transport.client import AgentServerClient, TransportError
from neutrino.transport.factory import make_agent_client
from tests.support.agents import dhcp_state
from tests.support.broker import delete_topology, require_rabbit, unique_exchange
from tests.support.databases import fresh_database
from tests.support.server import USERS, free_port
from tests.support.waiting import SERVER_START_S, wait_until

REPO = Path(__file__).resolve().parents[2]
ADMIN = USERS["admin"]


@dataclass
class ServerProcess:
    """One `neutrino-server` subprocess; kill() is SIGKILL, as a crash would be."""

    conf: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "neutrino.server", "--config-file", str(self.conf)],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
        wait_until(self._up, SERVER_START_S, interval=0.1,
                   message=f"server on {self.port} ({self.log})")
        return self

    def _up(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
        try:
            return httpx.get(self.url + "/", timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def api(self) -> httpx.Client:
        user, password, project = ADMIN
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        token = httpx.post(self.url + "/v3/auth/tokens", json=body, timeout=10
                           ).headers["x-subject-token"]
        return httpx.Client(base_url=self.url, headers={"X-Auth-Token": token}, timeout=30)


@dataclass
class Pair:
    servers: tuple[ServerProcess, ServerProcess]
    rabbit_url: str
    exchange: str

    def agent_client(self) -> AgentServerClient:
        return make_agent_client(self.rabbit_url, control_exchange=self.exchange, timeout=3.0)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    rabbit_url = require_rabbit()
    exchange = unique_exchange()
    tmp = tmp_path_factory.mktemp("multi")
    with fresh_database("postgresql", str(tmp)) as db_url:
        servers = []
        for name in ("one", "two"):
            port = free_port()
            conf = tmp / f"{name}.conf"
            conf.write_text(
                f"[DEFAULT]\nhost = server-{name}\nbind_host = 127.0.0.1\nbind_port = {port}\n"
                f"state_path = {tmp}\ntransport_url = {rabbit_url}\n"
                f"control_exchange = {exchange}\nagent_down_time = 10\n"
                "dhcp_agents_per_network = 2\n"
                f"[database]\nconnection = {db_url}\n"
                "[ml2]\ntenant_network_types = vxlan\n[ml2_type_vxlan]\nvni_ranges = 1:9999\n")
            servers.append(ServerProcess(conf, port, tmp / f"{name}.log"))
        manage = [sys.executable, "-m", "neutrino.manage", "--config-file",
                  str(servers[0].conf)]
        for args in (["db", "upgrade"], ["bootstrap", "--admin-password", ADMIN[1]]):
            subprocess.run([*manage, *args], check=True, capture_output=True, cwd=REPO)
        try:
            for server in servers:
                server.start()
            yield Pair((servers[0], servers[1]), rabbit_url, exchange)
        finally:
            for server in servers:
                server.stop()
            delete_topology(rabbit_url, exchange)


class Heartbeats:
    """An agent's report loop in a thread, counting reports that got through."""

    def __init__(self, client: AgentServerClient, host: str) -> None:
        self.client, self.host = client, host
        self.ok = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                self.client.report_state(dhcp_state(self.host))
                self.ok += 1
            except TransportError:
                pass  # the agent's loop logs and goes on; what counts is that it recovers

    def __enter__(self) -> Heartbeats:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)


def _events_until(client: AgentServerClient, host: str, after: int, want: str,
                  network_id: str, timeout: float = 20) -> int:
    seen: list[Event] = []

    def poll() -> bool:
        nonlocal after
        try:
            batch = client.wait_events(host, after, 0.5)
        except TransportError:
            return False
        after = max([after, batch.latest_revision, *(e.revision for e in batch.events)])
        seen.extend(batch.events)
        return any(e.event == want and e.network_id == network_id for e in seen)

    wait_until(poll, timeout, message=f"{want} of {network_id} on {host}")
    return after


def test_agents_keep_reporting_and_hearing_changes_when_either_server_dies(pair: Pair
                                                                          ) -> None:
    host = "HostK-" + uuid.uuid4().hex[:6]
    client = pair.agent_client()
    try:
        agent_id = client.report_state(dhcp_state(host, start=True)).agent_id
        after = client.wait_events(host, -1, 0).latest_revision
        for victim, survivor in (pair.servers, pair.servers[::-1]):
            with Heartbeats(client, host) as beats:
                victim.kill()
                counted = beats.ok
                wait_until(lambda counted=counted: beats.ok >= counted + 5, 20,  # type: ignore[misc]
                           message="reports through the surviving server")
                with survivor.api() as api:
                    net = api.post("/v2.0/networks", json={"network": {"name": "k"}}
                                   ).json()["network"]["id"]
                    assert api.post(f"/v2.0/agents/{agent_id}/dhcp-networks",
                                    json={"network_id": net}).status_code == 201
                    after = _events_until(client, host, after, "agent.network_added", net)
                    agent = api.get(f"/v2.0/agents/{agent_id}").json()["agent"]
                    assert agent["alive"] is True
                victim.start()
    finally:
        client.close()


def test_concurrent_scheduling_across_both_servers_never_over_binds(pair: Pair) -> None:
    tag = uuid.uuid4().hex[:6]
    client = pair.agent_client()
    apis = [server.api() for server in pair.servers]
    try:
        # Only this test's agents may take networks: disable every other DHCP agent.
        for agent in apis[0].get("/v2.0/agents").json()["agents"]:
            apis[0].put(f"/v2.0/agents/{agent['id']}", json={"agent": {"admin_state_up": False}})
        for i in range(5):
            client.report_state(dhcp_state(f"cc{i}-{tag}", start=True))
        nets = [apis[i % 2].post("/v2.0/networks", json={"network": {"name": f"c{i}"}}
                                 ).json()["network"]["id"] for i in range(6)]

        def race(job: int) -> int:
            api = apis[job % 2]  # every network is raced from both servers at once
            network_id = nets[(job // 2) % len(nets)]
            return api.post("/v2.0/ports", json={"port": {"network_id": network_id}}
                            ).status_code

        with ThreadPoolExecutor(12) as pool:
            assert set(pool.map(race, range(len(nets) * 6))) == {201}
        for net in nets:
            hosts = apis[0].get(f"/v2.0/networks/{net}/dhcp-agents").json()["agents"]
            assert len(hosts) == 2, (net, hosts)
    finally:
        for api in apis:
            api.close()
        client.close()
