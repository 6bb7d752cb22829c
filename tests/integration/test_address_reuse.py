"""Address reuse quarantine (issue 14) against the real server, on every database, over HTTP:
a freed address waits for every DHCP agent that may still lease it to the old MAC."""
from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from neutrino.agent_protocol.messages import NetworkApplied
from neutrino.db.models import IpQuarantine, IpQuarantineWait, NetworkDhcpAgentBinding
from neutrino.services import quarantine
from neutrino.services.clock import utcnow
from neutrino.transport.http_client import HttpAgentClient
from tests.support.agents import agent_client, dhcp_state
from tests.support.server import RunningServer, running_server, settings_for
from tests.support.waiting import wait_until

# Pool 10.x.0.2 - 10.x.0.6: five addresses, so exhaustion is a few ports away.
SHORT = 3  # seconds of quarantine for the expiry test


def _settings(db_url: str, state: str, **extra: Any) -> Any:
    # Bindings are made by the tests; no scheduler or failover may add or move any.
    return settings_for(db_url, state, network_auto_schedule=False,
                        allow_automatic_dhcp_failover=False, **extra)


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(_settings(db_url, str(tmp_path_factory.mktemp("state")))) as running:
        yield running


@pytest.fixture(scope="module")
def short_server(db_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RunningServer]:
    settings = _settings(db_url, str(tmp_path_factory.mktemp("state")),
                         ip_reuse_quarantine=SHORT)
    with running_server(settings) as running:
        yield running


class World:
    """Two registered DHCP agents hosting one small network."""

    def __init__(self, server: RunningServer, third_octet: int) -> None:
        self.server = server
        self.api = server.client()
        self.agents = agent_client(server)
        tag = uuid.uuid4().hex[:6]
        self.hosts = [f"HostQ1-{tag}", f"HostQ2-{tag}"]
        self.agent_ids = [self.agents.report_state(dhcp_state(h, start=True)).agent_id
                          for h in self.hosts]
        self.prefix = f"10.{third_octet}.0"
        net = self.api.post("/v2.0/networks", json={"network": {"name": "reuse-" + tag}})
        self.net = net.json()["network"]["id"]
        sub = self.api.post("/v2.0/subnets", json={"subnet": {
            "network_id": self.net, "cidr": f"{self.prefix}.0/29"}})
        assert sub.status_code == 201, sub.text
        self.subnet = sub.json()["subnet"]["id"]
        for agent_id in self.agent_ids:
            r = self.api.post(f"/v2.0/agents/{agent_id}/dhcp-networks",
                              json={"network_id": self.net})
            assert r.status_code == 201, r.text

    def ip(self, last: int) -> str:
        return f"{self.prefix}.{last}"

    def create(self, ip: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"network_id": self.net}
        if ip is not None:
            body["fixed_ips"] = [{"ip_address": ip}]
        return self.api.post("/v2.0/ports", json={"port": body})

    def port(self, ip: str | None = None) -> tuple[str, str]:
        r = self.create(ip)
        assert r.status_code == 201, r.text
        port = r.json()["port"]
        return port["id"], port["fixed_ips"][0]["ip_address"]

    def delete(self, port_id: str) -> None:
        assert self.api.delete(f"/v2.0/ports/{port_id}").status_code == 204

    def revision(self, host_index: int = 0) -> int:
        """The revision an agent fetching the network now would apply."""
        info = self.agents.get_network_info(self.hosts[host_index], self.net)
        assert info is not None
        return info.revision_number

    def confirm(self, host_index: int, revision: int, serving: bool = True) -> None:
        self.agents.networks_applied(self.hosts[host_index], [NetworkApplied(
            network_id=self.net, revision_number=revision, serving=serving)])

    def exhausted(self) -> bool:
        r = self.create()
        if r.status_code == 201:
            raise AssertionError(f"a port got {r.json()['port']['fixed_ips']}")
        assert r.status_code == 409, r.text
        assert r.json()["NeutronError"]["type"] == "IpAddressGenerationFailure", r.text
        return True

    def close(self) -> None:
        self.api.close()
        self.agents.close()


# A distinct /29 per world: subnets of different networks may not overlap.
OCTETS = itertools.count(40)


@pytest.fixture
def world(server: RunningServer) -> Iterator[World]:
    w = World(server, next(OCTETS))
    try:
        yield w
    finally:
        w.close()


def test_freed_address_waits_for_both_hosting_agents(world: World) -> None:
    first, ip = world.port()
    assert ip == world.ip(2)
    world.delete(first)
    freed_revision = world.revision()
    # Never-freed addresses go first: the freed one is not the next choice.
    assert world.port()[1] == world.ip(3)
    for _ in range(3):
        world.port()  # .4, .5, .6: only the quarantined address is left
    assert world.exhausted()

    world.confirm(0, freed_revision)
    assert world.exhausted()  # agent 2 may still lease it to the old MAC
    world.confirm(1, freed_revision - 1)
    assert world.exhausted()  # a revision before the freeing covers nothing
    world.confirm(1, freed_revision)
    assert world.port()[1] == ip


def test_confirmations_are_stored_on_the_bindings(world: World) -> None:
    revision = world.revision()
    world.confirm(0, revision)
    world.confirm(1, revision, serving=False)
    with world.server.db.session() as session:
        rows = dict(session.execute(
            select(NetworkDhcpAgentBinding.dhcp_agent_id,
                   NetworkDhcpAgentBinding.applied_revision)
            .where(NetworkDhcpAgentBinding.network_id == world.net)).all())
    assert rows == {world.agent_ids[0]: revision, world.agent_ids[1]: None}


def test_an_address_asked_for_by_name_is_reused_at_once(world: World) -> None:
    port_id, ip = world.port()
    world.delete(port_id)
    again, got = world.port(ip)
    assert got == ip
    with world.server.db.session() as session:  # the quarantine row went with the claim
        assert session.scalars(select(IpQuarantine).where(
            IpQuarantine.subnet_id == world.subnet)).all() == []


def test_changing_a_ports_fixed_ip_quarantines_the_old_one(world: World) -> None:
    port_id, ip = world.port()
    r = world.api.put(f"/v2.0/ports/{port_id}",
                      json={"port": {"fixed_ips": [{"ip_address": world.ip(6)}]}})
    assert r.status_code == 200, r.text
    for _ in range(3):
        assert world.port()[1] != ip  # .3, .4, .5
    assert world.exhausted()
    revision = world.revision()
    world.confirm(0, revision)
    world.confirm(1, revision)
    assert world.port()[1] == ip


def test_teardown_settles_whatever_the_revision(world: World) -> None:
    port_id, ip = world.port()
    world.delete(port_id)
    world.confirm(0, world.revision())
    world.confirm(1, 0, serving=False)  # tore the network down: no lease left there
    assert [world.port()[1] for _ in range(5)] == [world.ip(i) for i in (3, 4, 5, 6, 2)]


def test_an_agent_unbound_before_the_freeing_is_waited_for_until_its_teardown(
        world: World) -> None:
    # Agent 1 loses the network (failover and dhcp-agent-network-remove both unbind) while,
    # cut off, it cannot hear of it: its dnsmasq still leases the network's addresses.
    r = world.api.delete(f"/v2.0/agents/{world.agent_ids[0]}/dhcp-networks/{world.net}")
    assert r.status_code == 204, r.text
    port_id, ip = world.port()
    world.delete(port_id)
    with world.server.db.session() as session:
        waits = set(session.scalars(select(IpQuarantineWait.dhcp_agent_id).where(
            IpQuarantineWait.subnet_id == world.subnet, IpQuarantineWait.ip_address == ip)))
    assert waits == set(world.agent_ids)
    world.confirm(1, world.revision(1))
    for _ in range(4):
        world.port()
    assert world.exhausted()
    world.confirm(0, 0, serving=False)  # it heard at last and tore the network down
    assert world.port()[1] == ip


def test_deleting_an_agent_ends_its_waits(world: World) -> None:
    port_id, ip = world.port()
    world.delete(port_id)
    world.confirm(0, world.revision())
    for _ in range(4):
        world.port()
    assert world.exhausted()
    assert world.api.delete(f"/v2.0/agents/{world.agent_ids[1]}").status_code == 204
    assert world.port()[1] == ip


def test_quarantine_ends_by_time_and_is_pruned(short_server: RunningServer) -> None:
    world = World(short_server, next(OCTETS))
    try:
        port_id, ip = world.port()
        world.delete(port_id)
        for _ in range(4):
            world.port()
        assert world.exhausted()  # nobody confirmed: held back for SHORT seconds

        def reused() -> str | None:
            r = world.create()
            assert r.status_code in (201, 409), r.text
            return r.json()["port"]["fixed_ips"][0]["ip_address"] if r.status_code == 201 \
                else None

        assert wait_until(reused, SHORT + 10, 0.2, message="the quarantine to pass") == ip
        # Rows past the quarantine are pruned, confirmed or not; a fresh one stays (rows
        # written by hand: pruning looks at freed_at only).
        db = short_server.db
        db.run(lambda s: s.add(IpQuarantine(
            subnet_id=world.subnet, ip_address=world.ip(9), network_id=world.net,
            freed_at=utcnow() - timedelta(seconds=SHORT + 1), freed_revision=1)))
        db.run(lambda s: s.add(IpQuarantine(
            subnet_id=world.subnet, ip_address=world.ip(10), network_id=world.net,
            freed_at=utcnow(), freed_revision=1)))
        assert db.run(lambda s: quarantine.prune(s, utcnow(), timedelta(seconds=SHORT))) >= 1
        with db.session() as session:
            left = set(session.scalars(select(IpQuarantine.ip_address).where(
                IpQuarantine.subnet_id == world.subnet)))
        assert left == {world.ip(10)}
    finally:
        world.close()


def test_bad_confirmations_are_refused(server: RunningServer) -> None:
    client: HttpAgentClient = agent_client(server)
    try:
        token = client._token_value()
        for body in ({}, {"networks": "x"}, {"networks": [{"network_id": "n"}]},
                     {"networks": [{"network_id": "n", "revision_number": "many"}]},
                     {"networks": [{"network_id": "n", "revision_number": 10**30}]},
                     {"networks": [{"network_id": "n", "revision_number": -1}]}, []):
            r = httpx.post(f"{server.url}/agent-rpc/v1/dhcp/HostX/applied", json=body,
                           headers={"X-Auth-Token": token})
            assert r.status_code == 400, (body, r.text)
            assert r.json()["NeutronError"]["type"] == "HTTPBadRequest", r.text
        member = httpx.post(f"{server.url}/agent-rpc/v1/dhcp/HostX/applied",
                            json={"networks": []},
                            headers={"X-Auth-Token": server.tokens["member"]})
        assert member.status_code == 403
        # An agent the server does not know is waited for by nothing: accepted, no effect.
        client.networks_applied("HostNobody", [NetworkApplied(network_id="n",
                                                              revision_number=1)])
    finally:
        client.close()
