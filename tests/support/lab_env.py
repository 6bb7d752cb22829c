"""What end-to-end tests over the lab need from this machine: root and tools, identities on
a fresh server database, free ports, and the agents' transport (HTTP or RabbitMQ)."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from neutrino.lab.topology import RabbitAccess
from neutrino.transport.rabbit_topology import parse_rabbit_url
from tests.support.broker import broker_on, delete_topology, require_rabbit, unique_exchange
from tests.support.needs import ROOT_TOOLS, require

ADMIN_PASSWORD = "adminpassword"
AGENT_USER, AGENT_PASSWORD = "neutrino-agent", "agentpassword"
def require_root_and_tools(needs: tuple[str, ...] = ROOT_TOOLS,
                           what: str = "the seed walk-through") -> None:
    """Skip loudly without root or one of `needs`; under CI, fail instead."""
    require(what, needs)


def free_port() -> int:
    """A port free on every address: the lab's hosts reach servers on the switch address."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


def bootstrap_identities(conf: Path) -> None:
    """neutrino-manage as an operator runs it: schema, admin, and the agents' service user."""
    manage = [sys.executable, "-m", "neutrino.manage", "--config-file", str(conf)]
    for args in (["db", "upgrade"], ["bootstrap", "--admin-password", ADMIN_PASSWORD],
                 ["user-create", AGENT_USER, "--password", AGENT_PASSWORD, "--project",
                  "service", "--role", "service"]):
        subprocess.run([*manage, *args], check=True, capture_output=True)


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
