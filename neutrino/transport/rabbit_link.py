"""A resilient pair of broker connections: one consumed by an I/O thread, one to publish.

kombu connections are not thread-safe, so the consuming connection belongs to its I/O
thread alone and publishing goes through a second connection under a lock. Both come back
by themselves after the broker restarts (back-off, logged); `on_connected` runs after every
(re)connect, once consumers are declared, so callers can fill the gap in what they missed.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer

from neutrino.transport.client import TransportError
from neutrino.transport.rabbit_topology import BrokerParams

LOG = logging.getLogger(__name__)

HEARTBEAT = 10  # seconds; the broker and we each drop the link after two silent intervals
# How long the I/O thread blocks on the socket: bounds how late a new binding or stop() is
# seen (kombu cannot interrupt a drain from another thread).
DRAIN_TICK = 0.25
BACKOFF_START = 0.2
BACKOFF_MAX = 5.0

SetUp = Callable[[Any], list[Consumer]]


class Link:
    """Consumes what `setup` declares, and publishes, across broker restarts."""

    def __init__(self, broker: BrokerParams, name: str, setup: SetUp,
                 on_connected: Callable[[], None] | None = None,
                 heartbeat: int = HEARTBEAT) -> None:
        self.broker = broker
        self.name = name
        self._setup = setup
        self._on_connected = on_connected or (lambda: None)
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
        backoff = BACKOFF_START
        while not self._stop.is_set():
            conn = self._connection()
            try:
                conn.connect()
                backoff = BACKOFF_START
                LOG.info("%s connected to %s", self.name, self.broker.redacted())
                self._consume(conn)
            except (*conn.connection_errors, *conn.channel_errors, OSError) as exc:
                if self._stop.is_set():
                    break
                LOG.warning("%s lost the broker at %s (%s); reconnecting in %.1f s",
                            self.name, self.broker.redacted(), exc or type(exc).__name__,
                            backoff)
            except Exception:  # a bug in a message callback must not end consuming for good
                LOG.exception("%s: unexpected error while consuming; reconnecting in %.1f s",
                              self.name, backoff)
            else:
                continue  # stopped
            finally:
                self.ready.clear()
                _quietly_release(conn)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _consume(self, conn: Connection) -> None:
        channel = conn.channel()
        consumers = self._declare(channel)
        while not self._stop.is_set():
            if self._resetup.is_set():
                for consumer in consumers:
                    consumer.cancel()
                consumers = self._declare(channel)
            try:
                conn.drain_events(timeout=DRAIN_TICK)
            except TimeoutError:
                pass
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
                retries: int = 3, declare: list[Any] | None = None, **properties: Any) -> None:
        """Publish once the broker takes it; TransportError after `retries` reconnections."""
        def errback(exc: Exception, interval: float) -> None:
            LOG.warning("%s cannot publish to %s (%s); retrying in %.1f s", self.name,
                        self.broker.redacted(), exc, interval)

        with self._pub_lock:
            try:
                producer = Producer(self._pub_conn)
                producer.publish(
                    body, exchange=exchange, routing_key=routing_key,
                    content_type="application/json", content_encoding="utf-8",
                    serializer=None, declare=declare or [], retry=True,
                    retry_policy={"max_retries": retries, "interval_start": BACKOFF_START,
                                  "interval_step": 0.5, "interval_max": 2.0,
                                  "errback": errback},
                    **properties)
            except (*self._pub_conn.connection_errors, *self._pub_conn.channel_errors,
                    OSError) as exc:
                # Start the next publish from a fresh connection rather than a broken one.
                _quietly_release(self._pub_conn)
                self._pub_conn = self._connection()
                raise TransportError(f"{self.name}: cannot publish to "
                                     f"{self.broker.redacted()}: {exc}") from exc

    def heartbeat_publisher(self) -> None:
        """Keep the idle publishing connection alive; call every few seconds."""
        if not self._pub_lock.acquire(blocking=False):
            return  # busy publishing, which is traffic enough
        try:
            if self._pub_conn.connected:
                self._pub_conn.heartbeat_check()
        except (*self._pub_conn.connection_errors, OSError) as exc:
            LOG.info("%s: publishing connection dropped (%s); it reconnects on next use",
                     self.name, exc)
            _quietly_release(self._pub_conn)
            self._pub_conn = self._connection()
        finally:
            self._pub_lock.release()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(DRAIN_TICK * 3 + 1)
        with self._pub_lock:
            _quietly_release(self._pub_conn)


def _quietly_release(conn: Connection) -> None:
    """Close a connection that may already be broken; errors on the way out do not matter."""
    try:
        conn.release()
    except (OSError, *conn.connection_errors) as exc:
        LOG.debug("ignoring error while closing a broker connection: %s", exc)


def wait_ready(link: Link, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    if not link.ready.wait(max(0.0, deadline - time.monotonic())):
        raise TransportError(f"{link.name}: not connected to {link.broker.redacted()} "
                             f"within {timeout:.0f} s")
