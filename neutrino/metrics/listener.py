"""The token-free metrics listener ([DEFAULT] metrics_bind): /metrics for Prometheus on an
address the operator chose, in a thread of its own (docs/metrics.md).

It serves the metrics and nothing else; with use_ssl it serves HTTPS with the API's
certificate (and, with [ssl] ca_file, wants a client certificate like the API does).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.registry import Collector

from neutrino.config import ServerSettings

LOG = logging.getLogger(__name__)


@dataclass
class MetricsListener:
    server: WSGIServer
    address: tuple[str, int]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(settings: ServerSettings, metrics: Collector) -> MetricsListener | None:
    """Listen on metrics_bind when it is set; None when it is not. OSError if it cannot."""
    if settings.metrics_bind is None:
        return None
    host, port = settings.metrics_bind
    tls = {}
    if settings.use_ssl:
        tls = {"certfile": settings.ssl_cert_file, "keyfile": settings.ssl_key_file,
               "client_cafile": settings.ssl_ca_file or None,
               "client_auth_required": bool(settings.ssl_ca_file)}
    server, _thread = start_http_server(port, host, registry=metrics, **tls)  # type: ignore[arg-type]
    LOG.info("metrics served without a token on %s://%s:%d/metrics (metrics_bind): "
                "keep that address reachable by Prometheus only",
                "https" if settings.use_ssl else "http", host, port)
    return MetricsListener(server, (host, port))


class ListenFailed(Exception):
    """[DEFAULT] metrics_bind names an address this host cannot listen on."""


@contextlib.contextmanager
def serving(settings: ServerSettings, metrics: Collector) -> Iterator[None]:
    """The listener of metrics_bind (if set) while the block runs; ListenFailed if it cannot."""
    try:
        running = start(settings, metrics)
    except OSError as exc:
        host, port = settings.metrics_bind or ("", 0)
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise ListenFailed(f"cannot listen on [DEFAULT] metrics_bind = {shown}: "
                           f"{exc.strerror}") from None
    try:
        yield
    finally:
        if running is not None:
            running.stop()
