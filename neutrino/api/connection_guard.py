"""HTTP connection limits below the app: header size, the time to send headers, and the
uvicorn settings that bound connections (docs/operations.md, "Request limits").

uvicorn bounds none of the first two: with httptools one endless header line grows in
memory without limit, and a connection that opens and then sends nothing, or a byte a
minute, is never closed. GuardedHttpToolsProtocol is uvicorn's httptools protocol with
those two limits added:

- the request line and each header line are at most `max_header_line` bytes (414, 431),
  the whole header section at most `header_section` bytes (431, and the connection is
  closed while the headers are still arriving);
- a connection's first request, and each request after it, must have sent its headers
  within `client_header_timeout` seconds of its first byte (of the connection, for the
  first), or the connection is closed (with a 408 if part of a request had arrived).

The body's size and time are bounded one level up (api/request_guard.py); the time a kept-
alive connection may sit idle between requests is uvicorn's own `timeout_keep_alive`.
The limits reach every worker process through the app's lifespan state (LIMITS_STATE), and
so does the event a graceful stop sets for the event streams (STOPPING_STATE).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from neutrino.api.event_stream import STOPPING_STATE
from neutrino.api.refusals import raw_refusal, send_refusal
from neutrino.config import ServerSettings

LIMITS_STATE = "neutrino.connection_limits"
# eventlet's MAX_TOTAL_HEADER_SIZE, under which Neutron's API has always run.
MAX_HEADER_SECTION = 65536
# client_socket_timeout = 0 means idle connections are never closed, as in Neutron.
FOREVER = 10**9


@dataclass(frozen=True)
class ConnectionLimits:
    header_line: int = 16384
    header_section: int = MAX_HEADER_SECTION
    header_timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> ConnectionLimits:
        return cls(settings.max_header_line,
                   max(MAX_HEADER_SECTION, 4 * settings.max_header_line),
                   float(settings.client_header_timeout))


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """Keywords for uvicorn.run / uvicorn.Config that apply the server's connection limits."""
    return {"http": GuardedHttpToolsProtocol, "limit_concurrency": settings.max_connections,
            "timeout_keep_alive": settings.client_socket_timeout or FOREVER,
            "backlog": settings.backlog}


def _refusing_app(status: int, message: str) -> Any:
    async def app(scope: Scope, _receive: Receive, send: Send) -> None:
        await send_refusal(send, scope["path"], status, message)

    return app


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with header size and header time limits."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self.app_state.get(LIMITS_STATE)
        self._limits = limits if isinstance(limits, ConnectionLimits) else ConnectionLimits()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._refusal: tuple[int, str] | None = None
        self._section = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        # uvicorn's graceful stop begins, and waits for every response in progress: tell
        # the endless ones (the dashboard's event streams) to end (api/event_stream.py).
        stopping = self.app_state.get(STOPPING_STATE)
        if isinstance(stopping, asyncio.Event):
            stopping.set()
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._awaiting_headers and self._header_bytes > self._limits.header_section \
                and not self.transport.is_closing():
            self._close_with(431, self._section_message())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._refusal = None
        self._section = 0
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._section += len(url)
        if len(self.url) > self._limits.header_line and self._refusal is None:
            self._refusal = (414, f"The request line is longer than {self._limits.header_line} "
                                  "bytes ([DEFAULT] max_header_line).")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        line = len(name) + len(value) + 4  # "name: value\r\n"
        self._section += line
        if self._refusal is not None:
            return
        if line > self._limits.header_line:
            self._refusal = (431, f"Header {name[:64].decode('latin-1')} is longer than "
                                  f"{self._limits.header_line} bytes ([DEFAULT] "
                                  "max_header_line).")
        elif self._section > self._limits.header_section:
            self._refusal = (431, self._section_message())

    def _section_message(self) -> str:
        return f"The request headers are larger than {self._limits.header_section} bytes."

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        self._disarm_header_timer()
        if self._refusal is None:
            super().on_headers_complete()
            return
        # uvicorn runs self.app for the request; run the refusal in its place, once.
        app, self.app = self.app, _refusing_app(*self._refusal)
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._limits.header_timeout,
                                                      self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self.transport.is_closing():
            return
        if self._header_bytes:
            self._close_with(408, f"The request headers did not arrive within "
                                  f"{self._limits.header_timeout:g} seconds "
                                  "([DEFAULT] client_header_timeout).")
        else:
            self.transport.close()

    def _close_with(self, status: int, message: str) -> None:
        path = self.url.split(b"?", 1)[0].decode("latin-1") if getattr(self, "url", b"") \
            else "/"
        self.transport.write(raw_refusal(path, status, message))
        self.transport.close()
