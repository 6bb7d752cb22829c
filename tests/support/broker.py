"""The local RabbitMQ for tests: reachability, a unique name prefix per use, restarts."""
from __future__ import annotations

import os
import selectors
import socket
import socketserver
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from kombu import Connection
from kombu.exceptions import OperationalError

from neutrino.transport.rabbit_topology import Topology, parse_rabbit_url
from tests.support.needs import require, unreachable
from tests.support.service_lock import services_exclusive, services_for_this_module

RABBIT_URL = os.environ.get("NEUTRINO_TEST_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")


def require_rabbit() -> str:
    """The broker URL; skips (fails under CI) when RabbitMQ is not reachable. No other
    process's test stops the broker until the calling test module ends."""
    services_for_this_module()
    b = parse_rabbit_url(RABBIT_URL)
    conn = Connection(hostname=b.host, port=b.port, userid=b.userid, password=b.password,
                      virtual_host=b.virtual_host, connect_timeout=3)
    try:
        conn.ensure_connection(max_retries=1)
    except (OSError, OperationalError, *conn.connection_errors) as exc:
        unreachable("RabbitMQ", exc)
    finally:
        conn.release()
    return RABBIT_URL


def unique_exchange() -> str:
    """A control_exchange of its own, so concurrent test runs never share a queue."""
    return "neutrino_t_" + uuid.uuid4().hex[:10]


def restart_broker() -> None:
    """Stop and start the RabbitMQ application (root); every connection drops."""
    require("restarting the broker", ("rabbitmqctl",))
    with services_exclusive():
        try:
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True,
                           timeout=60)
        finally:
            start_broker()  # never leave RabbitMQ stopped for the tests that follow


def start_broker() -> None:
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "await_startup"], check=True, capture_output=True,
                   timeout=120)


def delete_topology(url: str, control_exchange: str) -> None:
    """Remove a test run's exchanges and shared queue (reply and event queues go by
    themselves with their connections)."""
    b = parse_rabbit_url(url)
    topo = Topology(control_exchange)
    with Connection(hostname=b.host, port=b.port, userid=b.userid, password=b.password,
                    virtual_host=b.virtual_host, connect_timeout=3) as conn:
        channel = conn.channel()
        topo.rpc_queue()(channel).delete()
        for exchange in (topo.topic_exchange, topo.fanout_exchange):
            exchange(channel).delete()


class _Relay(socketserver.BaseRequestHandler):
    """Copies bytes both ways between one client and the broker until either side closes."""

    target: tuple[str, int]

    def handle(self) -> None:
        try:
            self._relay()
        except OSError:
            # The broker stopped or the client went away: the connection ends here, as it
            # would between the client and the broker itself.
            return

    def _relay(self) -> None:
        with socket.create_connection(self.target, timeout=5) as upstream:
            upstream.settimeout(None)
            pairs = {self.request: upstream, upstream: self.request}
            with selectors.DefaultSelector() as sel:
                for sock in pairs:
                    sel.register(sock, selectors.EVENT_READ)
                while True:
                    for key, _ in sel.select():
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            return
                        pairs[key.fileobj].sendall(data)  # type: ignore[index]


@contextmanager
def broker_on(address: str, port: int = 5672) -> Iterator[str]:
    """Expose the loopback broker on `address` (e.g. the e2e lab's switch address, which
    agents in host namespaces can reach); yields the rabbit:// URL agents should use.

    RabbitMQ sees these connections come from 127.0.0.1, so `guest` (loopback-only by
    default) works through it, as it does for the server.
    """
    services_for_this_module()
    b = parse_rabbit_url(RABBIT_URL)
    handler = type("Relay", (_Relay,), {"target": (b.host, b.port)})
    server = socketserver.ThreadingTCPServer((address, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"rabbit://{b.userid}:{b.password}@{address}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
