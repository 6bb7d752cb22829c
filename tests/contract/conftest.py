"""One deployment per transport driver: a real server and a factory of agent clients."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from neutrino.config import ServerSettings
from neutrino.transport.client import AgentServerClient
from neutrino.transport.factory import make_agent_client
from neutrino.transport.http_client import HttpAgentClient
from tests.support.broker import delete_topology, require_rabbit, unique_exchange
from tests.support.databases import fresh_database
from tests.support.server import USERS, RunningServer, running_server, settings_for

TRANSPORTS = ("http", "rabbit")


@dataclass
class Deployment:
    """A server reachable over one transport; restartable on the same port and database."""

    transport: str
    settings: ServerSettings
    server: RunningServer
    rabbit_url: str = ""
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _clients: list[AgentServerClient] = field(default_factory=list)

    def client(self, timeout: float = 10.0) -> AgentServerClient:
        """An agent's client, closed at the end of the module."""
        if self.transport == "http":
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


@pytest.fixture(scope="module", params=TRANSPORTS)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    transport: str = request.param
    extra: dict[str, Any] = {}
    rabbit_url = ""
    if transport == "rabbit":
        rabbit_url = require_rabbit()
        extra = {"transport_url": rabbit_url, "control_exchange": unique_exchange()}
    tmp = str(tmp_path_factory.mktemp("contract"))
    with fresh_database("sqlite", tmp) as url:
        settings = settings_for(url, tmp, agent_down_time=30, **extra)
        stack = contextlib.ExitStack()
        server = stack.enter_context(running_server(settings))
        dep = Deployment(transport, settings, server, rabbit_url, stack)
        try:
            yield dep
        finally:
            dep.close()
            if rabbit_url:
                delete_topology(rabbit_url, settings.control_exchange)
