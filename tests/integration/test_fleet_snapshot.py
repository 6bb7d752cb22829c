"""Two servers on one database, each with its own copy of the fleet
(services/fleet_snapshot.py): what one changes, the other schedules by at once.

Agents register and change through server A; networks are scheduled through server B,
whose copy was read before the change. Each case checks the outcome (which agent B
chose) and how B's copy learned it: by a reload (fleet_revision bumped: registration,
admin_state_up, deletion), by the event log (loads: bindings, network deletions, no
reload), or by the rows at the last moment (an agent that died unseen: confirm()).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from neutrino.agent_protocol.messages import AgentState
from neutrino.config import ServerSettings
from neutrino.db.models import Agent
from neutrino.services.clock import utcnow
from neutrino.services.fleet_snapshot import FleetSnapshot
from neutrino.wiring import Services
from tests.support.agents import agent_client, dhcp_state, register
from tests.support.server import RunningServer, running_server, settings_for

DOWN = 60
Pair = tuple[RunningServer, RunningServer]


@pytest.fixture(scope="module")
def pair(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    def settings() -> ServerSettings:
        return settings_for(db_url, str(tmp_path_factory.mktemp("state")),
                            agent_down_time=DOWN, dhcp_agents_per_network=1)
    with running_server(settings()) as a, running_server(settings()) as b:
        yield a, b


@pytest.fixture
def hosts(pair: Pair) -> Iterator[dict[str, str]]:
    """Register DHCP + L2 agents on server A by host name; afterwards the agents and the
    networks go (a network left unhosted would go to the next test's first agent)."""
    a, _ = pair
    ids: dict[str, str] = {}
    yield ids
    with a.client() as c:
        for net in c.get("/v2.0/networks").json()["networks"]:
            c.delete(f"/v2.0/networks/{net['id']}").raise_for_status()
        for agent in c.get("/v2.0/agents").json()["agents"]:
            c.delete(f"/v2.0/agents/{agent['id']}").raise_for_status()


def _start(server: RunningServer, ids: dict[str, str], name: str) -> str:
    host = f"{name}-{uuid.uuid4().hex[:6]}"
    ids[name] = register(agent_client(server), host)[1].agent_id
    return ids[name]


def services(server: RunningServer) -> Services:
    found: Services = server.app.state.services
    return found


def fleet(server: RunningServer) -> FleetSnapshot:
    return services(server).fleet_snapshot


def _network(c: httpx.Client, dhcp: bool = True) -> str:
    r = c.post("/v2.0/networks", json={"network": {"name": "fleet"}})
    assert r.status_code == 201, r.text
    net_id: str = r.json()["network"]["id"]
    if dhcp:
        third = uuid.uuid4().int % 250
        r = c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net_id, "cidr": f"10.{third}.{uuid.uuid4().int % 250}.0/24"}})
        assert r.status_code == 201, r.text
    return net_id


def _hosted_by(c: httpx.Client, net_id: str) -> list[str]:
    return [a["id"] for a in c.get(f"/v2.0/networks/{net_id}/dhcp-agents").json()["agents"]]


def _add(c: httpx.Client, agent_id: str, net_id: str) -> None:
    r = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks", json={"network_id": net_id})
    assert r.status_code == 201, r.text


def test_registration_admin_state_and_deletion_reach_the_other_copy(
        pair: Pair, hosts: dict[str, str]) -> None:
    a, b = pair
    first = _start(a, hosts, "first")
    with a.client() as ca, b.client() as cb:
        assert _hosted_by(cb, _network(cb)) == [first]  # B's copy is read now
        reloads = fleet(b).reloads

        second = _start(a, hosts, "second")  # registered through A: B must know it
        assert _hosted_by(cb, _network(cb)) == [second]  # least loaded (0 against 1)
        assert fleet(b).reloads == reloads + 1

        extra = _network(ca, dhcp=False)
        _add(ca, first, extra)  # first: 2 networks, second: 1
        r = ca.put(f"/v2.0/agents/{second}", json={"agent": {"admin_state_up": False}})
        assert r.status_code == 200, r.text
        assert _hosted_by(cb, _network(cb)) == [first]  # second is less loaded, but disabled
        assert fleet(b).reloads == reloads + 2

        ca.put(f"/v2.0/agents/{second}", json={"agent": {"admin_state_up": True}}
               ).raise_for_status()
        ca.delete(f"/v2.0/agents/{second}").raise_for_status()
        assert _hosted_by(cb, _network(cb)) == [first]
        hosts.pop("second")


def test_loads_follow_the_event_log_without_reloading(pair: Pair, hosts: dict[str, str]
                                                     ) -> None:
    a, b = pair
    _start(a, hosts, "x")
    _start(a, hosts, "y")
    with a.client() as ca, b.client() as cb:
        [warm] = _hosted_by(cb, _network(cb))  # one of them has 1 network
        other = next(i for i in hosts.values() if i != warm)
        reloads = fleet(b).reloads
        # A binds three networks to the other agent: it is now the busier one.
        extra = [_network(ca, dhcp=False) for _ in range(3)]
        for net_id in extra:
            _add(ca, other, net_id)
        assert _hosted_by(cb, _network(cb)) == [warm]  # 2 against 3
        # A deletes those networks: their bindings go without agent.network_removed events.
        for net_id in extra:
            ca.delete(f"/v2.0/networks/{net_id}").raise_for_status()
        assert _hosted_by(cb, _network(cb)) == [other]  # 0 against 2
        assert fleet(b).reloads == reloads


def test_an_agent_that_died_unseen_is_not_chosen_and_a_revived_one_is(
        pair: Pair, hosts: dict[str, str]) -> None:
    a, b = pair
    quiet = _start(a, hosts, "quiet")
    busy = _start(a, hosts, "busy")
    with a.client() as ca, b.client() as cb:
        for _ in range(2):
            _add(ca, busy, _network(ca, dhcp=False))
        assert _hosted_by(cb, _network(cb)) == [quiet]  # B's copy: quiet alive, least loaded
        # quiet's last heartbeat ages past agent_down_time while B's copy holds a fresh one.
        stale = utcnow() - timedelta(seconds=2 * DOWN)
        a.db.run(lambda s: s.execute(update(Agent).where(Agent.id == quiet)
                                     .values(heartbeat_timestamp=stale)))
        reloads = fleet(b).reloads
        assert _hosted_by(cb, _network(cb)) == [busy]  # the rows said no: B reloaded
        assert fleet(b).reloads == reloads + 1

        # quiet reports again (through A); B's heartbeat pass sees it.
        assert agent_client(a).report_state(_state_of(a, quiet)).agent_id == quiet
        services(a).agents.heartbeats.flush()
        fleet(b).refresh_heartbeats()
        assert _hosted_by(cb, _network(cb)) == [quiet]


def _state_of(server: RunningServer, agent_id: str) -> AgentState:
    with server.client() as c:
        host = c.get(f"/v2.0/agents/{agent_id}").json()["agent"]["host"]
    return dhcp_state(host)


def test_alive_ends_exactly_at_agent_down_time(pair: Pair, hosts: dict[str, str]) -> None:
    a, _ = pair
    agent_id = _start(a, hosts, "edge")
    copy = FleetSnapshot(a.db, DOWN)
    with a.db.session() as session:
        beat = session.get(Agent, agent_id)
        assert beat is not None
        last = beat.heartbeat_timestamp

        def eligible(now_offset: timedelta) -> bool:
            found = copy.shortlist(session, last + now_offset, 1, [], None, "auto",
                                   "least_loaded", random.Random(1))
            return agent_id in {x.id for x in found}

        assert eligible(timedelta(seconds=DOWN))
        assert not eligible(timedelta(seconds=DOWN, microseconds=1))
