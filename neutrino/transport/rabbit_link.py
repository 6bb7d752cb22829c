"""A resilient pair of broker connections: one consumed by an I/O thread, one to publish.

kombu connections are not thread-safe, so the consuming connection belongs to its I/O
thread alone and publishing goes through a second connection under a lock. Both come back
by themselves after the broker restarts: the I/O thread retries at most BACKOFF_MAX apart,
so consumers are back within a second of the broker answering, and logs once when the
broker is lost and once when it is back. `on_connected` runs after every (re)connect, once
consumers are declared, so callers can fill the gap in what they missed; `on_disconnected`
after every loss, so callers waiting for pushes can stop waiting.

Every error the broker's absence can raise (BROKER_ERRORS: socket errors, py-amqp's
connection and channel errors, kombu's OperationalError wrapping a failed reconnect) is
caught here; publish raises TransportError and nothing else for them.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from amqp.exceptions import AMQPError, MessageNacked
from kombu import Connection, Consumer, Exchange, Producer
from kombu.exceptions import OperationalError

from neutrino.backoff import backoff_delay
from neutrino.transport.client import TransportError
from neutrino.transport.rabbit_topology import BrokerParams

LOG = logging.getLogger(__name__)

HEARTBEAT = 10  # seconds; the broker and we each drop the link after two silent intervals
# How long the I/O thread blocks on the socket: bounds how late a new binding or stop() is
# seen (kombu cannot interrupt a drain from another thread).
DRAIN_TICK = 0.25
PUB_DRAIN_TIMEOUT = 0.001  # reading what the broker sent on the publishing connection
BACKOFF_START = 0.2
BACKOFF_MAX = 1.0
BROKER_ERRORS: tuple[type[Exception], ...] = (OSError, AMQPError, MessageNacked,
                                              OperationalError)

SetUp = Callable[[Any], list[Consumer]]


class Link:
    """Consumes what `setup` declares, and publishes, across broker restarts."""

    def __init__(self, broker: BrokerParams, name: str, setup: SetUp,
                 on_connected: Callable[[], None] | None = None,
                 heartbeat: int = HEARTBEAT,
                 on_disconnected: Callable[[], None] | None = None) -> None:
        self.broker = broker
        self.name = name
        self._setup = setup
        self._on_connected = on_connected or (lambda: None)
        self._on_disconnected = on_disconnected or (lambda: None)
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._resetup = threading.Event()
        self.ready = threading.Event()
        # Which setup generation is wanted and which one consumers run with, so a caller
        # that added a binding can wait for exactly that (not an earlier setup finishing).
        self._gen = threading.Condition()
        self._wanted = 0
        self._done = 0
        self._pub_lock = threading.Lock()
        self._pub_conn = self._connection()
        self._producer: tuple[Any, Producer] | None = None  # (channel, its producer)
        # Set when the consuming connection came back: the publishing one went down with it
        # and may still look open (a write into a dead socket "succeeds" and is lost).
        self._pub_stale = False
        self._pub_failing_since: float | None = None
        self._pub_failure_logged = False
        self._thread = threading.Thread(target=self._run, name=f"rabbit-{name}", daemon=True)

    def _connection(self) -> Connection:
        b = self.broker
        return Connection(hostname=b.host, port=b.port, userid=b.userid, password=b.password,
                          virtual_host=b.virtual_host, heartbeat=self._heartbeat,
                          connect_timeout=5, transport="pyamqp", ssl=b.kombu_ssl())

    def start(self) -> Link:
        self._thread.start()
        return self

    def resetup(self) -> int:
        """Ask the I/O thread to run `setup` again (new bindings); returns its generation."""
        with self._gen:
            self._wanted += 1
            self._resetup.set()
            return self._wanted

    def wait_setup(self, generation: int, timeout: float) -> None:
        """Block until consumers declared by `generation` (or later) are running."""
        with self._gen:
            if not self._gen.wait_for(lambda: self._done >= generation and self.ready.is_set(),
                                      timeout):
                raise TransportError(f"{self.name}: not subscribed on "
                                     f"{self.broker.redacted()} within {timeout:.0f} s")

    # ---- consuming, in the I/O thread -------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        lost_at: float | None = None  # set while the broker is away, for the "back" line
        connected_before = False
        while not self._stop.is_set():
            conn = self._connection()
            try:
                # One attempt: this loop paces retries (kombu's own loop sleeps 2 s and more).
                conn.ensure_connection(max_retries=0)
                if connected_before:
                    self._pub_stale = True
                if lost_at is not None:
                    LOG.info("%s reconnected to %s after %.1f s", self.name,
                             self.broker.redacted(), time.monotonic() - lost_at)
                else:
                    LOG.info("%s connected to %s", self.name, self.broker.redacted())
                failures, lost_at, connected_before = 0, None, True
                self._consume(conn)
            except BROKER_ERRORS as exc:
                if self._stop.is_set():
                    break
                failures += 1
                if lost_at is None:
                    lost_at = time.monotonic()
                    LOG.warning("%s lost the broker at %s (%s); reconnecting at most %.0f s "
                                "apart, logging again once connected", self.name,
                                self.broker.redacted(), _reason(exc), BACKOFF_MAX)
                else:
                    LOG.debug("%s: broker still away: %s", self.name, _reason(exc))
            except Exception:  # a bug in a message callback must not end consuming for good
                failures += 1
                lost_at = lost_at or time.monotonic()
                LOG.exception("%s: unexpected error while consuming; reconnecting", self.name)
            else:
                continue  # stopped
            finally:
                self.ready.clear()
                _quietly_release(conn)
                self._notify_disconnected()
            self._stop.wait(backoff_delay(failures, random.random(), start=BACKOFF_START,
                                          maximum=BACKOFF_MAX))

    def _notify_disconnected(self) -> None:
        try:
            self._on_disconnected()
        except Exception:  # the I/O thread must outlive a bug in a callback
            LOG.exception("%s: on_disconnected callback failed", self.name)

    def _consume(self, conn: Connection) -> None:
        channel = conn.channel()
        consumers = self._declare(channel)
        checked = time.monotonic()
        while not self._stop.is_set():
            if self._resetup.is_set():
                for consumer in consumers:
                    consumer.cancel()
                consumers = self._declare(channel)
            try:
                conn.drain_events(timeout=DRAIN_TICK)
            except TimeoutError:
                pass
            # Once per tick, not once per message: the publishing connection's check waits
            # up to PUB_DRAIN_TIMEOUT, which a busy consumer would pay on every call.
            if time.monotonic() - checked >= DRAIN_TICK:
                checked = time.monotonic()
                conn.heartbeat_check()
                self.heartbeat_publisher()

    def _declare(self, channel: Any) -> list[Consumer]:
        with self._gen:
            self._resetup.clear()
            generation = self._wanted
        consumers = self._setup(channel)
        for consumer in consumers:
            consumer.consume()
        with self._gen:
            self._done = generation
            self.ready.set()
            self._gen.notify_all()
        self._on_connected()
        return consumers

    # ---- publishing, from any thread --------------------------------------------------------

    def publish(self, body: bytes, *, exchange: Exchange | str, routing_key: str,
                retries: int = 3, declare: list[Any] | None = None,
                timeout: float | None = None, **properties: Any) -> None:
        """Publish once the broker takes it; TransportError after `retries` reconnections
        or, with `timeout`, once that many seconds have passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        error: Exception = TransportError("stopped")
        with self._pub_lock:
            for attempt in range(retries + 1):
                # The first retry follows at once: the usual failure is a connection that
                # died while idle, and a fresh one works.
                delay = backoff_delay(attempt - 1, random.random(), start=BACKOFF_START,
                                      maximum=BACKOFF_MAX)
                if deadline is not None and attempt and time.monotonic() + delay > deadline:
                    break
                if delay and self._stop.wait(delay):
                    break
                try:
                    self._publish_once(body, exchange, routing_key, declare or [], properties)
                except BROKER_ERRORS as exc:
                    error = exc
                    self._renew_pub()
                    continue
                self._published()
                return
            self._publish_failed(error)
        raise TransportError(f"{self.name}: cannot publish to {self.broker.redacted()}: "
                             f"{_reason(error)}") from error

    def _publish_once(self, body: bytes, exchange: Exchange | str, routing_key: str,
                      declare: list[Any], properties: dict[str, Any]) -> None:
        if self._pub_stale:
            self._renew_pub()
        conn = self._pub_conn
        conn.ensure_connection(max_retries=0)
        channel = conn.default_channel
        # One Producer per channel: making one per message cost about as much as the
        # publish itself (a reply to every heartbeat goes through here).
        if self._producer is None or self._producer[0] is not channel:
            self._producer = (channel, Producer(channel))
        self._producer[1].publish(
            body, exchange=exchange, routing_key=routing_key,
            content_type="application/json", content_encoding="utf-8", serializer=None,
            declare=declare, retry=False, **properties)

    def _renew_pub(self) -> None:
        """Drop the publishing connection; the next publish opens a fresh one."""
        _quietly_release(self._pub_conn)
        self._pub_conn = self._connection()
        self._producer = None
        self._pub_stale = False

    def _published(self) -> None:
        if self._pub_failing_since is not None and self._pub_failure_logged:
            LOG.info("%s publishes to %s again after %.1f s", self.name,
                     self.broker.redacted(), time.monotonic() - self._pub_failing_since)
        self._pub_failing_since, self._pub_failure_logged = None, False

    def _publish_failed(self, exc: Exception) -> None:
        if self._pub_failing_since is None:
            self._pub_failing_since = time.monotonic()
        # While the consuming side is down too, its own line already told the operator.
        if not self._pub_failure_logged and self.ready.is_set():
            LOG.warning("%s cannot publish to %s (%s) although its consumers are connected",
                        self.name, self.broker.redacted(), _reason(exc))
            self._pub_failure_logged = True
        else:
            LOG.debug("%s: publish failed: %s", self.name, _reason(exc))

    def heartbeat_publisher(self) -> None:
        """Keep the idle publishing connection alive; call every few seconds."""
        if not self._pub_lock.acquire(blocking=False):
            return  # busy publishing, which is traffic enough
        try:
            conn = self._pub_conn
            if not conn.connected:
                return
            try:
                # py-amqp counts the broker's heartbeats only when they are read, and nothing
                # else reads this connection: without this it declares it dead every 20 s.
                # Not timeout=0: on a non-blocking socket py-amqp spins on EAGAIN mid-frame.
                conn.drain_events(timeout=PUB_DRAIN_TIMEOUT)
            except TimeoutError:
                pass  # nothing to read
            conn.heartbeat_check()
        except BROKER_ERRORS as exc:
            LOG.debug("%s: publishing connection dropped (%s); a fresh one opens on next use",
                      self.name, _reason(exc))
            self._renew_pub()
        finally:
            self._pub_lock.release()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(DRAIN_TICK * 3 + 1)
        with self._pub_lock:
            _quietly_release(self._pub_conn)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _quietly_release(conn: Connection) -> None:
    """Close a connection that may already be broken; errors on the way out do not matter."""
    try:
        conn.release()
    except BROKER_ERRORS as exc:
        LOG.debug("ignoring error while closing a broker connection: %s", exc)


def wait_ready(link: Link, timeout: float) -> None:
    if not link.ready.wait(max(0.0, timeout)):
        raise TransportError(f"{link.name}: not connected to {link.broker.redacted()} "
                             f"within {timeout:.1f} s")
