"""The local RabbitMQ for tests: reachability, a unique name prefix per use, restarts."""
from __future__ import annotations

import os
import subprocess
import uuid

from kombu import Connection

from neutrino.transport.rabbit_topology import Topology, parse_rabbit_url
from tests.support.databases import _unavailable

RABBIT_URL = os.environ.get("NEUTRINO_TEST_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")


def require_rabbit() -> str:
    """The broker URL; skips (fails under CI) when RabbitMQ is not reachable."""
    b = parse_rabbit_url(RABBIT_URL)
    conn = Connection(hostname=b.host, port=b.port, userid=b.userid, password=b.password,
                      virtual_host=b.virtual_host, connect_timeout=3)
    try:
        conn.ensure_connection(max_retries=1)
    except (OSError, *conn.connection_errors) as exc:
        _unavailable("RabbitMQ", exc)
    finally:
        conn.release()
    return RABBIT_URL


def unique_exchange() -> str:
    """A control_exchange of its own, so concurrent test runs never share a queue."""
    return "neutrino_t_" + uuid.uuid4().hex[:10]


def restart_broker() -> None:
    """Stop and start the RabbitMQ application (root); every connection drops."""
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
