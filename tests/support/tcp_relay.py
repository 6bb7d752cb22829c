"""A TCP relay on a loopback port that a test can cut and restore, to take a real service
(a database) away from one client without stopping it for anyone else.

cut() closes the listening socket (new connections are refused) and resets every open
connection (RST, as a crashed peer or a rebooted firewall would); restore() listens on the
same port again.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOG = logging.getLogger(__name__)
CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN (linger on, timeout zero).

    A pump thread is blocked in recv() on the socket, and close() alone would wait for that
    call to return (it holds the socket): shutting the reading side wakes it first.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    sock.close()


class TcpRelay:
    """Forwards 127.0.0.1:<port> to target_host:target_port while not cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._stopped = False
        probe = self._listen(0)
        self.port = int(probe.getsockname()[1])
        self._start(probe)

    def _listen(self, port: int) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        return sock

    def _start(self, listener: socket.socket) -> None:
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name=f"relay-{self.port}").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut() or stop() closed the listener
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _reset(client)
                    _reset(upstream)
                    continue
                self._pairs.append((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(CHUNK):
                dst.sendall(data)
        except OSError as exc:  # reset by cut(), or by either end
            LOG.debug("relay %d: connection ended: %s", self.port, exc)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            # close() alone leaves a thread blocked in accept() holding the socket open (and
            # listening); shutdown() wakes it.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for client, upstream in pairs:
            _reset(client)
            _reset(upstream)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        with self._lock:
            if self._listener is not None or self._stopped:
                return
        self._start(self._listen(self.port))

    def stop(self) -> None:
        self._stopped = True
        self.cut()


@contextmanager
def tcp_relay(target_host: str, target_port: int) -> Iterator[TcpRelay]:
    relay = TcpRelay(target_host, target_port)
    try:
        yield relay
    finally:
        relay.stop()
