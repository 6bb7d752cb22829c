"""RabbitMQ driver, server side: answer agents' calls and push event notices.

Every server process consumes the one `<control_exchange>.q-plugin` queue (competing
consumers), runs each call on a small thread pool through `handle`, and publishes the reply
to the caller's reply queue. Events this process committed are cast to `dhcp_agent.<host>`
on the topic exchange, or to the fanout exchange when they concern every agent.

Messages are acknowledged on receipt: a call held by a server that dies is not redelivered
to another one; the agent's call times out and the agent retries, as it does over HTTP.
The broker authenticates agents (their rabbit credentials); this side trusts whatever
arrives on its queues.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kombu import Consumer, Exchange
from kombu.exceptions import ContentDisallowed

from neutrino.agent_protocol.messages import Event
from neutrino.transport.client import TransportError
from neutrino.transport.rabbit_link import Link
from neutrino.transport.rabbit_topology import (
    BrokerParams,
    RpcError,
    RpcReply,
    RpcRequest,
    Topology,
)

LOG = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Any]
# Answers a call from its body's bytes on the consuming thread, or None to leave it to the
# pool: for calls answered from memory (routine heartbeats), where a hand-over to another
# thread would cost more than the answer.
Quick = Callable[[bytes], Any]
DescribeError = Callable[[Exception], RpcError]
WORKERS = 8
REPLY_RETRIES = 1
EVENT_RETRIES = 5


@dataclass(frozen=True)
class _Outgoing:
    body: bytes
    exchange: Exchange | str
    routing_key: str
    retries: int
    properties: dict[str, Any]


class RabbitRpcServer:
    """Consumes agent calls and publishes replies and events; start() then stop()."""

    def __init__(self, broker: BrokerParams, control_exchange: str, handle: Handler,
                 describe_error: DescribeError, workers: int = WORKERS,
                 on_connected: Callable[[], None] | None = None,
                 quick: Quick | None = None) -> None:
        """`on_connected`: called after every (re)connection, once calls are consumed."""
        self.topology = Topology(control_exchange)
        self._handle = handle
        self._quick = quick
        self._describe_error = describe_error
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rabbit-rpc")
        self._outbox: queue.Queue[_Outgoing | None] = queue.Queue()
        self._link = Link(broker, "server", self._setup, on_connected)
        self._sender = threading.Thread(target=self._send_loop, name="rabbit-outbox",
                                        daemon=True)

    @property
    def ready(self) -> threading.Event:
        return self._link.ready

    def start(self) -> RabbitRpcServer:
        self._sender.start()
        self._link.start()
        LOG.info("serving agents over RabbitMQ at %s, queue %s",
                 self._link.broker.redacted(), self.topology.rpc_queue().name)
        return self

    def stop(self) -> None:
        self._link.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._outbox.put(None)
        self._sender.join(5)

    # ---- calls ----------------------------------------------------------------------------------

    def _setup(self, channel: Any) -> list[Consumer]:
        topo = self.topology
        for exchange in (topo.topic_exchange, topo.fanout_exchange):
            exchange(channel).declare()
        # on_message: the raw message, so that a quick answer needs no decoding first.
        return [Consumer(channel, [topo.rpc_queue()], on_message=self._on_message,
                         accept=["json"], no_ack=True)]

    def _on_message(self, message: Any) -> None:
        props = message.properties
        reply_to, corr = props.get("reply_to"), props.get("correlation_id")
        if self._quick is not None and message.content_type == "application/json":
            try:
                result = self._quick(message.body)
            except Exception:  # the pool's path answers it, and maps any error there
                LOG.exception("quick answer failed; the call takes the full path")
                result = None
            if result is not None:
                self._reply(RpcReply(result=result), reply_to, corr)
                return
        try:
            request = RpcRequest.model_validate(message.decode())
        except (ValueError, ContentDisallowed) as exc:
            LOG.warning("ignoring malformed call from %s: %s", reply_to, exc)
            return
        self._pool.submit(self._serve, request, reply_to, corr)

    def _serve(self, request: RpcRequest, reply_to: str | None, corr: str | None) -> None:
        try:
            reply = RpcReply(result=self._handle(request.method, request.args))
        except Exception as exc:  # every failure goes back to the caller, mapped once
            error = self._describe_error(exc)
            if error.status == 500:  # a bug; a 503 (database unreachable) is a state
                LOG.exception("agent call %s failed", request.method)
            reply = RpcReply(error=error)
        self._reply(reply, reply_to, corr)

    def _reply(self, reply: RpcReply, reply_to: str | None, corr: str | None) -> None:
        if reply_to:
            self._outbox.put(_Outgoing(reply.model_dump_json().encode(), "", reply_to,
                                       REPLY_RETRIES, {"correlation_id": corr}))

    # ---- events ---------------------------------------------------------------------------------

    def publish_events(self, events: list[Event]) -> None:
        """Queue notices of committed events; returns at once (called from commit hooks)."""
        topo = self.topology
        for event in events:
            body = event.model_dump_json().encode()
            if event.host:
                self._outbox.put(_Outgoing(body, topo.topic_exchange,
                                           topo.host_key(event.host), EVENT_RETRIES, {}))
            else:
                self._outbox.put(_Outgoing(body, topo.fanout_exchange, "", EVENT_RETRIES, {}))

    def _send_loop(self) -> None:
        dropping: _Drops | None = None  # while messages are being dropped
        while True:
            item = self._outbox.get()
            if item is None:
                return
            try:
                # While the broker is away, one try per message: retries would only make the
                # outbox fall behind, and what is dropped is recovered anyway (below).
                retries = item.retries if self._link.ready.is_set() else 0
                self._link.publish(item.body, exchange=item.exchange,
                                   routing_key=item.routing_key, retries=retries,
                                   **item.properties)
            except TransportError as exc:
                # Agents read the event log after every reconnection and periodically, and
                # retry calls whose reply is lost: nothing is lost for good.
                if dropping is None:
                    dropping = _Drops(time.monotonic())
                    LOG.warning("dropping messages to agents while the broker is away (first "
                                "to %s: %s); logging again once one gets through",
                                item.routing_key or "fanout", exc)
                dropping.count += 1
                continue
            except Exception:  # the outbox must outlive a bug in one message
                LOG.exception("could not send a message to %s; carrying on",
                              item.routing_key or "fanout")
                continue
            if dropping is not None:
                LOG.info("sending to agents again after %.1f s; %d messages dropped meanwhile",
                         time.monotonic() - dropping.since, dropping.count)
                dropping = None


@dataclass
class _Drops:
    since: float
    count: int = 0
