"""A TCP relay that a test can cut and restore: a broker outage without stopping the broker.

`cut()` closes the listening socket (new connections are refused, ECONNREFUSED) and resets
every relayed connection on both sides (RST, as a crashed peer would); `restore()` listens
again on the same port. The real RabbitMQ behind it keeps running for everyone else.
"""
from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# How often relay threads look up from a blocking call to see whether they were cut.
TICK = 0.1


def _reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class CuttableRelay:
    """Relays 127.0.0.1:<port> to `target`; cut() and restore() from the test."""

    def __init__(self, target: tuple[str, int], address: str = "127.0.0.1") -> None:
        self.target = target
        self.address = address
        self.port = 0
        self.accepted = 0  # connections relayed since start, for the test's assertions
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        self._listener: socket.socket | None = None
        self._listening = threading.Event()
        self._closed = False

    # ---- controls -------------------------------------------------------------------------

    def start(self) -> CuttableRelay:
        self._listen()
        return self

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        self._listening.clear()
        if listener is not None:
            listener.close()
        for client, upstream, done in pairs:
            done.set()
            _reset(client)
            _reset(upstream)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        self._listen()

    def close(self) -> None:
        self._closed = True
        self.cut()

    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    # ---- relaying --------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.address, self.port))
        listener.listen(64)
        listener.settimeout(TICK)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._listening.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name=f"relay-accept-{self.port}").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return  # cut: this listener is closed
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed under us by cut()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            done = threading.Event()
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _reset(client)
                    _reset(upstream)
                    return
                self._pairs.append((client, upstream, done))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, done), daemon=True,
                             name=f"relay-pump-{self.port}").start()

    def _pump(self, client: socket.socket, upstream: socket.socket,
              done: threading.Event) -> None:
        peer = {client: upstream, upstream: client}
        try:
            while not done.is_set():
                readable, _, _ = select.select([client, upstream], [], [], TICK)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except (OSError, ValueError):
            return  # reset by cut(), or the peer went away
        finally:
            if not done.is_set():
                done.set()
                with self._lock:
                    self._pairs = [p for p in self._pairs if p[0] is not client]
                for sock in (client, upstream):
                    with contextlib.suppress(OSError):
                        sock.close()


@contextmanager
def cuttable_relay(target: tuple[str, int], address: str = "127.0.0.1"
                   ) -> Iterator[CuttableRelay]:
    """A started relay from `address` (a free port) to `target`; closed afterwards."""
    relay = CuttableRelay(target, address).start()
    try:
        yield relay
    finally:
        relay.close()
