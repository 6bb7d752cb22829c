"""A TLS listener in front of the local RabbitMQ, for tests of the broker over TLS.

The machine's RabbitMQ has no TLS listener and tests do not reconfigure it; this relay ends
TLS with a test certificate and passes the AMQP bytes to the plain loopback port, so kombu's
TLS path (handshake, CA and name verification, client certificates) runs for real."""
from __future__ import annotations

import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from neutrino.transport.rabbit_topology import parse_rabbit_url
from tests.support.broker import RABBIT_URL
from tests.support.service_lock import services_for_this_module


class _TlsRelay(socketserver.BaseRequestHandler):
    target: tuple[str, int]
    context: ssl.SSLContext
    failures: list[str]

    def handle(self) -> None:
        try:
            client = self.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.failures.append(str(exc))  # the client refused us, or we refused it
            return
        with client, socket.create_connection(self.target, timeout=5) as upstream:
            upstream.settimeout(None)
            peers: dict[socket.socket, socket.socket] = {client: upstream, upstream: client}
            with selectors.DefaultSelector() as sel:
                for sock in peers:
                    sel.register(sock, selectors.EVENT_READ)
                while True:
                    for key, _ in sel.select():
                        sock: socket.socket = key.fileobj  # type: ignore[assignment]
                        if not self._pass(sock, peers[sock]):
                            return

    @staticmethod
    def _pass(source: socket.socket, sink: socket.socket) -> bool:
        try:
            data = source.recv(65536)
            # A TLS record may leave bytes buffered in the ssl object that select() cannot
            # see; read them now or they would wait for the next packet.
            while isinstance(source, ssl.SSLSocket) and source.pending():
                data += source.recv(source.pending())
        except (ssl.SSLError, OSError):
            return False
        if not data:
            return False
        sink.sendall(data)
        return True


@contextmanager
def tls_broker_on(port: int, cert_file: str, key_file: str, client_ca: str | None = None
                  ) -> Iterator[list[str]]:
    """Serve the loopback broker over TLS on 127.0.0.1:`port`; yields the handshake
    failures seen (client_ca: require client certificates signed by it)."""
    services_for_this_module()
    b = parse_rabbit_url(RABBIT_URL)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    failures: list[str] = []
    handler = type("TlsRelay", (_TlsRelay,), {"target": (b.host, b.port), "context": context,
                                              "failures": failures})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield failures
    finally:
        server.shutdown()
        server.server_close()
