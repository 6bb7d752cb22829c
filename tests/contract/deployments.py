"""What the contract suite runs against: a real server over each transport driver, and the
FakeServer that agent tests use in its place. Each gives agent clients and an `Admin`: the
operator's side (networks, hosting, ports) as that deployment does it, so one test body
checks what every one of them answers an agent."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select

from neutrino.agent_protocol.messages import NetworkInfo, SubnetInfo
from neutrino.config import ServerSettings
from neutrino.db.models import IpQuarantineWait, NetworkDhcpAgentBinding
from neutrino.transport.client import AgentServerClient
from neutrino.transport.factory import make_agent_client
from neutrino.transport.http_client import HttpAgentClient
from tests.support.fake_server import FakeServer
from tests.support.server import USERS, RunningServer, running_server

TRANSPORTS = ("http", "rabbit")
FAKE = "fake"
KINDS = (*TRANSPORTS, FAKE)


@dataclass(frozen=True)
class Net:
    id: str
    subnet_ids: list[str]


class Admin(Protocol):
    """The operator's side of a deployment, as far as the agent contract needs it."""

    def network(self, cidrs: Sequence[str] = ("10.60.0.0/24",), name: str = "c") -> Net: ...

    def host(self, network_id: str, agent_id: str) -> None:
        """Schedule the network to the agent (already being there is fine)."""

    def rename_network(self, network_id: str, name: str) -> None: ...

    def create_port(self, network_id: str, host: str = "") -> tuple[str, str]:
        """A compute port on the network, bound to `host` if given: (id, address)."""

    def delete_port(self, network_id: str, port_id: str) -> None: ...

    def agents(self, host: str) -> list[tuple[str, bool]]:
        """(id, alive) of the agents registered on `host`."""

    def port_status(self, port_id: str) -> str: ...

    def applied_revision(self, agent_id: str, network_id: str) -> int | None:
        """The revision the agent last confirmed serving for the network."""


class Deployment(Protocol):
    kind: str

    @property
    def admin(self) -> Admin: ...

    def client(self, timeout: float = 10.0) -> AgentServerClient: ...

    def close(self) -> None: ...


class RestAdmin:
    """The admin of a real server: its REST API (and its database, for what has no route)."""

    def __init__(self, server: Callable[[], RunningServer]) -> None:
        self._server = server  # a restarted server is a new RunningServer

    def network(self, cidrs: Sequence[str] = ("10.60.0.0/24",), name: str = "c") -> Net:
        with self._server().client() as c:
            r = c.post("/v2.0/networks", json={"network": {"name": name}})
            assert r.status_code == 201, r.text
            net = r.json()["network"]["id"]
            subnets = []
            for cidr in cidrs:
                r = c.post("/v2.0/subnets", json={"subnet": {"network_id": net, "cidr": cidr}})
                assert r.status_code == 201, r.text
                subnets.append(r.json()["subnet"]["id"])
        return Net(net, subnets)

    def host(self, network_id: str, agent_id: str) -> None:
        with self._server().client() as c:
            r = c.post(f"/v2.0/agents/{agent_id}/dhcp-networks", json={"network_id": network_id})
        # 409: auto-scheduling already put it there.
        assert r.status_code in (201, 409), r.text

    def rename_network(self, network_id: str, name: str) -> None:
        with self._server().client() as c:
            r = c.put(f"/v2.0/networks/{network_id}", json={"network": {"name": name}})
        assert r.status_code == 200, r.text

    def create_port(self, network_id: str, host: str = "") -> tuple[str, str]:
        body = {"network_id": network_id, "device_owner": "compute:nova",
                "device_id": f"vm-{uuid.uuid4().hex[:8]}"}
        if host:
            body["binding:host_id"] = host
        with self._server().client() as c:
            r = c.post("/v2.0/ports", json={"port": body})
        assert r.status_code == 201, r.text
        port = r.json()["port"]
        return port["id"], port["fixed_ips"][0]["ip_address"]

    def delete_port(self, network_id: str, port_id: str) -> None:
        with self._server().client() as c:
            assert c.delete(f"/v2.0/ports/{port_id}").status_code == 204

    def agents(self, host: str) -> list[tuple[str, bool]]:
        with self._server().client() as c:
            found = c.get("/v2.0/agents", params={"host": host}).json()["agents"]
        return sorted((a["id"], a["alive"]) for a in found)

    def port_status(self, port_id: str) -> str:
        with self._server().client() as c:
            return str(c.get(f"/v2.0/ports/{port_id}").json()["port"]["status"])

    def applied_revision(self, agent_id: str, network_id: str) -> int | None:
        with self._server().db.session() as session:
            binding = session.get(NetworkDhcpAgentBinding, (network_id, agent_id))
            assert binding is not None
            return binding.applied_revision

    def quarantine_waits(self, agent_id: str, network_id: str) -> list[str]:
        """Addresses freed on the network that wait for this agent's confirmation."""
        with self._server().db.session() as session:
            return list(session.scalars(select(IpQuarantineWait.ip_address).where(
                IpQuarantineWait.dhcp_agent_id == agent_id,
                IpQuarantineWait.network_id == network_id)))


@dataclass
class ServerDeployment:
    """A real server reachable over one transport; restartable on the same port and
    database."""

    kind: str
    settings: ServerSettings
    server: RunningServer
    rabbit_url: str = ""
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _clients: list[AgentServerClient] = field(default_factory=list)

    @property
    def admin(self) -> RestAdmin:
        return RestAdmin(lambda: self.server)

    def client(self, timeout: float = 10.0) -> AgentServerClient:
        """An agent's client, closed at the end of the module."""
        if self.kind == "http":
            name, password, project = USERS["agent"]
            client: AgentServerClient = HttpAgentClient(self.server.url, name, password,
                                                        project, timeout)
        else:
            client = make_agent_client(self.rabbit_url,
                                       control_exchange=self.settings.control_exchange,
                                       timeout=timeout)
        self._clients.append(client)
        return client

    def stop_server(self) -> None:
        self._stack.close()

    def start_server(self) -> None:
        self._stack = contextlib.ExitStack()
        self.server = self._stack.enter_context(
            running_server(self.settings, port=self.server.settings.bind_port))

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._stack.close()


class FakeAdmin:
    """The admin of a FakeServer: its test-side controls."""

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake

    def network(self, cidrs: Sequence[str] = ("10.60.0.0/24",), name: str = "c") -> Net:
        net = str(uuid.uuid4())
        subnets = [SubnetInfo(id=str(uuid.uuid4()), network_id=net, cidr=cidr,
                              gateway_ip=cidr.rsplit(".", 1)[0] + ".1") for cidr in cidrs]
        self.fake.add_network(NetworkInfo.model_validate({
            "id": net, "name": name, "subnets": [s.model_dump() for s in subnets],
            "provider:network_type": "vxlan", "provider:segmentation_id": 1000}), [])
        return Net(net, [s.id for s in subnets])

    def _host_of(self, agent_id: str) -> str:
        return self.fake.agents[agent_id].host

    def host(self, network_id: str, agent_id: str) -> None:
        self.fake.host(network_id, self._host_of(agent_id))

    def rename_network(self, network_id: str, name: str) -> None:
        changed = self.fake.networks[network_id].model_copy(deep=True)
        changed.name = name
        self.fake.update_network(changed)

    def create_port(self, network_id: str, host: str = "") -> tuple[str, str]:
        port = self.fake.add_port(network_id, str(uuid.uuid4()), host=host)
        return port.id, port.fixed_ips[0].ip_address

    def delete_port(self, network_id: str, port_id: str) -> None:
        self.fake.delete_port(network_id, port_id)

    def agents(self, host: str) -> list[tuple[str, bool]]:
        # The fake has no clock: an agent that reported is alive.
        return sorted((agent_id, True) for agent_id, state in self.fake.agents.items()
                      if state.host == host)

    def port_status(self, port_id: str) -> str:
        return "ACTIVE" if port_id in self.fake.ready else "DOWN"

    def applied_revision(self, agent_id: str, network_id: str) -> int | None:
        return self.fake.applied_revision(self._host_of(agent_id), network_id)


@dataclass
class FakeDeployment:
    """The FakeServer, in-process: every agent client is the fake itself, as in the agent
    tests that use it."""

    kind: str = FAKE
    fake: FakeServer = field(default_factory=FakeServer)

    @property
    def admin(self) -> FakeAdmin:
        return FakeAdmin(self.fake)

    def client(self, timeout: float = 10.0) -> AgentServerClient:
        return self.fake

    def close(self) -> None:
        self.fake.close()
