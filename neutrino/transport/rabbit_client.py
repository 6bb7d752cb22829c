"""RabbitMQ driver of the agent transport, client side: what agents link against.

Calls go to the `<control_exchange>.q-plugin` queue that every server process consumes;
replies come back on this client's exclusive reply queue, matched by correlation id.
Events are pushed by the servers (casts to `dhcp_agent.<host>`, fanout to every agent) and
collected on this client's exclusive event queue. Pushes can be lost (a broker restart, a
server that died between commit and publish), so `wait_events` also reads the database's
event log through the `fetch_events` call after every (re)connection and every
`fetch_interval` seconds; duplicates are harmless, agents act on notices idempotently.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from kombu import Consumer

from neutrino.tls import ClientTls
from neutrino.transport.client import AgentRefused, TransportError
from neutrino.transport.messages import (
    AgentState,
    DeviceList,
    DhcpPortRequest,
    Event,
    EventBatch,
    L2HostState,
    NetworkApplied,
    NetworkInfo,
    NetworkRef,
    PortInfo,
    ReportResult,
)
from neutrino.transport.rabbit_link import BROKER_ERRORS, Link, wait_ready
from neutrino.transport.rabbit_topology import (
    RPC_TOPIC,
    BrokerParams,
    RpcReply,
    RpcRequest,
    Topology,
    broker_params,
)

LOG = logging.getLogger(__name__)

# The safety net: read the event log this often even when pushes seem to flow.
FETCH_INTERVAL = 15.0
NOT_FOUND = 404


class _EventInbox:
    """Pushed events not yet handed to the agent, and what the event log already covered."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.pushed: list[Event] = []
        self.need_fetch = True  # set after every (re)subscription: pushes may have been lost
        self.log_cursor: int | None = None  # revision up to which the log was read
        self.last_fetch = 0.0
        self.delivered: set[int] = set()  # revisions above log_cursor already handed out

    def take(self, after: int) -> list[Event]:
        """Pushed events the agent has not seen; called with `cond` held."""
        floor = self.log_cursor if self.log_cursor is not None else after
        fresh = [e for e in self.pushed
                 if e.revision > floor and e.revision not in self.delivered]
        self.pushed.clear()
        return fresh


class RabbitAgentClient:
    """Implements AgentServerClient over RabbitMQ (see the module docstring)."""

    def __init__(self, broker: BrokerParams, control_exchange: str = "neutron",
                 timeout: float = 10.0, fetch_interval: float = FETCH_INTERVAL) -> None:
        self.topology = Topology(control_exchange)
        self._timeout = timeout
        self._fetch_interval = fetch_interval
        self._id = uuid.uuid4().hex[:12]
        self._reply_queue = self.topology.reply_queue(self._id)
        self._calls: dict[str, Future[RpcReply]] = {}
        self._calls_lock = threading.Lock()
        self._hosts: set[str] = set()
        self._hosts_lock = threading.Lock()
        self._inbox = _EventInbox()
        self._link = Link(broker, f"agent-client-{self._id}", self._setup,
                          self._on_connected, on_disconnected=self._on_disconnected).start()

    @classmethod
    def from_transport_url(cls, url: str, control_exchange: str = "neutron",
                           timeout: float = 10.0, tls: ClientTls | None = None
                           ) -> RabbitAgentClient:
        return cls(broker_params(url, tls), control_exchange, timeout)

    # ---- I/O thread ---------------------------------------------------------------------------

    def _setup(self, channel: Any) -> list[Consumer]:
        topo = self.topology
        for exchange in (topo.topic_exchange, topo.fanout_exchange):
            exchange(channel).declare()
        # Declaring the shared queue here too lets calls wait in it while servers restart.
        topo.rpc_queue()(channel).declare()
        consumers = [Consumer(channel, [self._reply_queue], callbacks=[self._on_reply],
                              accept=["json"], no_ack=True)]
        with self._hosts_lock:
            hosts = sorted(self._hosts)
        if hosts:
            events = topo.event_queue(self._id)(channel)
            events.declare()
            events.bind_to(topo.fanout_exchange)
            for host in hosts:
                events.bind_to(topo.topic_exchange, routing_key=topo.host_key(host))
            consumers.append(Consumer(channel, [events], callbacks=[self._on_event],
                                      accept=["json"], no_ack=True))
        return consumers

    def _on_connected(self) -> None:
        with self._inbox.cond:
            self._inbox.need_fetch = True
            self._inbox.cond.notify_all()

    def _on_disconnected(self) -> None:
        # A wait_events blocked on pushes must not wait for pushes that cannot come.
        with self._inbox.cond:
            self._inbox.cond.notify_all()

    def _on_reply(self, body: Any, message: Any) -> None:
        corr = message.properties.get("correlation_id")
        with self._calls_lock:
            future = self._calls.get(corr)
        if future is None:
            LOG.debug("reply %s arrived after its call gave up", corr)
            return
        try:
            future.set_result(RpcReply.model_validate(body))
        except ValueError as exc:
            future.set_exception(TransportError(f"malformed reply: {exc}"))

    def _on_event(self, body: Any, _message: Any) -> None:
        try:
            event = Event.model_validate(body)
        except ValueError as exc:
            LOG.warning("ignoring malformed event %r: %s", body, exc)
            return
        with self._inbox.cond:
            self._inbox.pushed.append(event)
            self._inbox.cond.notify_all()

    # ---- calls ----------------------------------------------------------------------------------

    def _call(self, method: str, args: dict[str, Any], timeout: float | None = None) -> Any:
        timeout = timeout if timeout is not None else self._timeout
        deadline = time.monotonic() + timeout
        wait_ready(self._link, timeout)
        corr = uuid.uuid4().hex
        future: Future[RpcReply] = Future()
        with self._calls_lock:
            self._calls[corr] = future
        try:
            body = RpcRequest(method=method, args=args).model_dump_json().encode()
            self._link.publish(body, exchange=self.topology.topic_exchange,
                               routing_key=RPC_TOPIC, reply_to=self._reply_queue.name,
                               correlation_id=corr,
                               # A call nobody picked up in time is dropped, not run late.
                               expiration=max(timeout, 0.001), retries=1, timeout=timeout)
            left = max(0.0, deadline - time.monotonic())
            reply = future.result(left)
        except FutureTimeout:
            raise TransportError(f"{method}: no server answered within {timeout:.1f} s "
                                 f"on {self._link.broker.redacted()}") from None
        except BROKER_ERRORS as exc:  # Link.publish maps these; a last line of defence
            raise TransportError(f"{method}: {type(exc).__name__}: {exc}") from exc
        finally:
            with self._calls_lock:
                self._calls.pop(corr, None)
        if reply.error is not None:
            err = reply.error
            if err.status == NOT_FOUND and method == "get_network_info":
                return None
            if err.status >= 500:
                raise TransportError(f"{method}: server error {err.type}: {err.message}")
            raise AgentRefused(f"{method}: {err.status} {err.type}: {err.message}")
        return reply.result

    # ---- AgentServerClient ------------------------------------------------------------------

    def report_state(self, state: AgentState, timeout: float | None = None) -> ReportResult:
        return ReportResult.model_validate(self._call("report_state", state.model_dump(),
                                                      timeout))

    def get_active_networks(self, host: str) -> list[NetworkRef]:
        body = self._call("get_active_networks", {"host": host})
        return [NetworkRef.model_validate(n) for n in body]

    def get_network_info(self, host: str, network_id: str) -> NetworkInfo | None:
        body = self._call("get_network_info", {"host": host, "network_id": network_id})
        return None if body is None else NetworkInfo.model_validate(body)

    def create_dhcp_port(self, request: DhcpPortRequest) -> PortInfo:
        return PortInfo.model_validate(self._call("create_dhcp_port", request.model_dump()))

    def update_dhcp_port(self, port_id: str, request: DhcpPortRequest) -> PortInfo:
        return PortInfo.model_validate(self._call(
            "update_dhcp_port", {"port_id": port_id, "request": request.model_dump()}))

    def release_dhcp_port(self, network_id: str, device_id: str, host: str) -> None:
        self._call("release_dhcp_port",
                   {"network_id": network_id, "device_id": device_id, "host": host})

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self._call("dhcp_ready_on_ports", {"port_ids": port_ids})

    def networks_applied(self, host: str, networks: list[NetworkApplied]) -> None:
        self._call("networks_applied",
                   {"host": host, "networks": [n.model_dump() for n in networks]})

    def update_device_list(self, host: str, devices: DeviceList) -> None:
        self._call("update_device_list", {"host": host, **devices.model_dump()})

    def get_l2_state(self, host: str) -> L2HostState:
        return L2HostState.model_validate(self._call("get_l2_state", {"host": host}))

    def fetch_events(self, host: str, after: int) -> EventBatch:
        """Read the server's event log directly (what wait_events falls back on)."""
        return EventBatch.model_validate(self._call("fetch_events",
                                                    {"host": host, "after": after}))

    def wait_events(self, host: str, after: int, timeout: float) -> EventBatch:
        # Pushes only come while connected: with the link down, say so (TransportError)
        # rather than answer "nothing new"; a link coming back meanwhile is used at once.
        wait_ready(self._link, self._timeout)
        self._subscribe(host)
        inbox = self._inbox
        deadline = time.monotonic() + max(0.0, timeout)
        if after < 0:
            return self._read_log(host, after, [])
        while True:
            with inbox.cond:
                due = inbox.need_fetch or (
                    time.monotonic() - inbox.last_fetch >= self._fetch_interval)
                pushed = inbox.take(after)
            if due:
                return self._read_log(host, after, pushed, deadline)
            if pushed:
                return self._deliver(after, pushed)
            left = deadline - time.monotonic()
            if left <= 0:
                return EventBatch(latest_revision=after)
            with inbox.cond:
                if not self._link.ready.is_set():
                    raise TransportError(f"event stream from {self._link.broker.redacted()} "
                                         "interrupted: the broker connection dropped")
                if not inbox.pushed and not inbox.need_fetch:
                    inbox.cond.wait(min(left, self._fetch_interval))

    def _subscribe(self, host: str) -> None:
        """Bind our event queue to `host`'s casts before reading the log, so nothing slips."""
        with self._hosts_lock:
            if host in self._hosts:
                return
            self._hosts.add(host)
        with self._inbox.cond:
            self._inbox.need_fetch = True
        self._link.wait_setup(self._link.resetup(), self._timeout)

    def _read_log(self, host: str, after: int, pushed: list[Event],
                  deadline: float | None = None) -> EventBatch:
        inbox = self._inbox
        with inbox.cond:
            cursor = inbox.log_cursor if inbox.log_cursor is not None else after
            # The agent may be behind our cursor (a fresh agent with an old `after`).
            cursor = min(cursor, after) if after >= 0 else after
            inbox.need_fetch = False
        try:
            batch = self.fetch_events(host, cursor)
        except TransportError:
            with inbox.cond:
                inbox.need_fetch = True
                inbox.pushed[:0] = pushed  # hand them out next time
            raise
        with inbox.cond:
            inbox.last_fetch = time.monotonic()
            inbox.log_cursor = batch.latest_revision
            seen = set(inbox.delivered)
            inbox.delivered = {r for r in inbox.delivered if r > batch.latest_revision}
        if batch.reset or after < 0:
            return batch
        # Not filtered by `after`: a push the agent never got may sit below a later push it
        # did get; repeating a notice is harmless, missing one is not.
        events = [e for e in batch.events if e.revision not in seen]
        events += [e for e in pushed if e.revision > batch.latest_revision]
        return self._deliver(after, events, batch.latest_revision)

    def _deliver(self, after: int, events: list[Event], floor: int = 0) -> EventBatch:
        unique = sorted({e.revision: e for e in events}.values(), key=lambda e: e.revision)
        with self._inbox.cond:
            cursor = self._inbox.log_cursor or 0
            self._inbox.delivered.update(e.revision for e in unique if e.revision > cursor)
        newest = max([after, floor, *(e.revision for e in unique)])
        return EventBatch(events=unique, latest_revision=newest)

    def close(self) -> None:
        self._link.stop()

