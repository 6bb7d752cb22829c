"""What end-to-end tests over the lab need from this machine: root and tools, identities on
a fresh server database, free ports, and the agents' transport (HTTP or RabbitMQ)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from neutrino.lab.topology import RabbitAccess
from neutrino.transport.rabbit_topology import parse_rabbit_url
from tests.support import server
from tests.support.broker import broker_on, delete_topology, require_rabbit, unique_exchange
from tests.support.needs import ROOT_TOOLS, require
from tests.support.server_process import bootstrap_users


def require_root_and_tools(needs: tuple[str, ...] = ROOT_TOOLS,
                           what: str = "the seed walk-through") -> None:
    """Skip loudly without root or one of `needs`; under CI, fail instead."""
    require(what, needs)


def free_port() -> int:
    """A port free on every address: the lab's hosts reach servers on the switch address."""
    return server.free_port("0.0.0.0")


def bootstrap_identities(conf: Path) -> None:
    """neutrino-manage as an operator runs it: schema, admin, and the standard users."""
    bootstrap_users(conf)


@contextlib.contextmanager
def agent_transport(transport: str) -> Iterator[tuple[str, RabbitAccess | None]]:
    """Server config lines and the lab's broker access for `http` or `rabbit`.

    For RabbitMQ the hosts reach the broker through a relay on the switch side: the local
    RabbitMQ listens on loopback only and lets `guest` in from loopback only."""
    if transport == "http":
        yield "", None
        return
    url = require_rabbit()
    exchange = unique_exchange()
    port = free_port()
    broker = parse_rabbit_url(url)
    try:
        with broker_on("0.0.0.0", port):
            yield (f"transport_url = {url}\ncontrol_exchange = {exchange}\n",
                   RabbitAccess(port, broker.userid, broker.password, exchange))
    finally:
        delete_topology(url, exchange)
