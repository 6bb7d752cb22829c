"""The RabbitMQ driver without a broker: every error is a TransportError, no thread dies.

A local port nobody listens on stands in for a broker that is down (connections are
refused at once), so these tests need no RabbitMQ.
"""
from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import Any

import pytest
from amqp.exceptions import ConnectionForced, NotFound
from kombu.exceptions import OperationalError

from neutrino.agent_protocol.messages import AgentState, Event
from neutrino.agent_protocol.rabbit_server import RabbitRpcServer
from neutrino.transport import rabbit_link
from neutrino.transport.client import TransportError
from neutrino.transport.rabbit_client import RabbitAgentClient
from neutrino.transport.rabbit_link import Link
from neutrino.transport.rabbit_topology import BrokerParams, RpcError
from tests.support.waiting import wait_until


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def away() -> BrokerParams:
    """A broker that refuses every connection."""
    return BrokerParams("127.0.0.1", closed_port(), "guest", "guest", "/")


def no_consumers(_channel: Any) -> list[Any]:
    return []


def test_publish_to_a_refusing_broker_raises_transport_error(away: BrokerParams) -> None:
    # What killed the server's rabbit-outbox thread: kombu's OperationalError got through.
    link = Link(away, "unit", no_consumers)
    with pytest.raises(TransportError, match="Connection refused"):
        link.publish(b"{}", exchange="", routing_key="nowhere", retries=2)


@pytest.mark.parametrize("exc", [
    OperationalError("[Errno 111] Connection refused"),
    OSError(errno.EINVAL, "Invalid argument"),
    ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
    ConnectionForced("Too many heartbeats missed"),
    NotFound("no exchange 'neutron'"),
], ids=lambda e: type(e).__name__)
def test_publish_maps_every_broker_error(away: BrokerParams, exc: Exception,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    link = Link(away, "unit", no_consumers)
    tries: list[int] = []

    def failing(*_: object) -> None:
        tries.append(1)
        raise exc

    monkeypatch.setattr(link, "_publish_once", failing)
    with pytest.raises(TransportError):
        link.publish(b"{}", exchange="", routing_key="nowhere", retries=1)
    assert len(tries) == 2  # the first retry on a fresh connection, at once


def test_the_consuming_thread_survives_refusals_and_logs_once(
        away: BrokerParams, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, rabbit_link.LOG.name)
    link = Link(away, "unit", no_consumers).start()
    try:
        def attempts() -> int:
            return sum(1 for r in caplog.records if "still away" in r.getMessage())
        # Retries at most a second apart: five of them within a few seconds.
        wait_until(lambda: attempts() >= 5, 10, message="reconnection attempts")
        assert link._thread.is_alive() and not link.ready.is_set()
    finally:
        link.stop()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "lost the broker" in warnings[0].getMessage()


def test_the_outbox_survives_a_broker_that_refuses(
        away: BrokerParams, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    server = RabbitRpcServer(away, "unit", lambda method, args: None,
                             lambda exc: RpcError(type="x", message=str(exc), status=500))
    server.start()
    try:
        server.publish_events([Event(revision=i, event="port.update", resource="port",
                                     resource_id=f"p{i}", network_id="n",
                                     host="HostA" if i % 2 else None) for i in range(20)])
        wait_until(server._outbox.empty, 20, message="the outbox working through the queue")
        assert server._sender.is_alive()
    finally:
        server.stop()
    dropping = [r for r in caplog.records if "dropping messages" in r.getMessage()]
    assert len(dropping) == 1


def test_calls_and_the_event_stream_fail_with_transport_error_while_the_broker_is_away(
        away: BrokerParams) -> None:
    client = RabbitAgentClient(away, "unit", timeout=0.3)
    try:
        with pytest.raises(TransportError):
            client.report_state(AgentState(agent_type="DHCP agent", binary="b", host="HostA"),
                                timeout=0.2)
        with pytest.raises(TransportError):  # not an empty batch: the agent must know
            client.wait_events("HostA", 0, 0.2)
    finally:
        client.close()


class WatchedCondition(threading.Condition):
    """Says when someone waits on it, so the test acts while the waiter is blocked."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_a_waiting_event_stream_ends_when_the_link_drops(
        away: BrokerParams, monkeypatch: pytest.MonkeyPatch) -> None:
    client = RabbitAgentClient(away, "unit", timeout=30, fetch_interval=3600)
    try:
        client._link.stop()  # its I/O thread would clear `ready` at every refused attempt
        client._link.ready.set()  # pretend connected, subscribed, and the log already read
        monkeypatch.setattr(client, "_subscribe", lambda host: None)
        cond = WatchedCondition()
        client._inbox.cond = cond
        client._inbox.need_fetch = False
        client._inbox.last_fetch = float("inf")
        outcome: list[BaseException | None] = []

        def wait() -> None:
            try:
                client.wait_events("HostA", 0, 30)
                outcome.append(None)
            except TransportError as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=wait)
        waiter.start()
        assert cond.waiting.wait(5)
        client._link.ready.clear()
        client._on_disconnected()  # what the I/O thread calls when the connection drops
        waiter.join(5)
        assert len(outcome) == 1 and isinstance(outcome[0], TransportError)
    finally:
        client.close()
