"""One deployment per kind: a real server per transport driver, and the FakeServer."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.contract.deployments import FAKE, KINDS, Deployment, FakeDeployment, ServerDeployment
from tests.support.broker import delete_topology, require_rabbit, unique_exchange
from tests.support.databases import fresh_database
from tests.support.server import running_server, settings_for


@pytest.fixture(scope="module", params=KINDS)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    kind: str = request.param
    if kind == FAKE:
        fake = FakeDeployment()
        yield fake
        fake.close()
        return
    extra: dict[str, Any] = {}
    rabbit_url = ""
    if kind == "rabbit":
        rabbit_url = require_rabbit()
        extra = {"transport_url": rabbit_url, "control_exchange": unique_exchange()}
    tmp = str(tmp_path_factory.mktemp("contract"))
    with fresh_database("sqlite", tmp) as url:
        settings = settings_for(url, tmp, agent_down_time=30, **extra)
        stack = contextlib.ExitStack()
        server = stack.enter_context(running_server(settings))
        dep = ServerDeployment(kind, settings, server, rabbit_url, stack)
        try:
            yield dep
        finally:
            dep.close()
            if rabbit_url:
                delete_topology(rabbit_url, settings.control_exchange)
