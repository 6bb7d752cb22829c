"""Every request is screened before any route sees it, authenticated or not.

- The body is at most `[oslo_middleware] max_request_body_size` bytes (413): a larger
  Content-Length is refused before a byte of the body is read, and a body without one
  (chunked) is counted while it arrives and refused as soon as it passes the limit.
- The body arrives within `client_body_timeout` seconds of the headers (408), so a client
  that sends it a byte at a time cannot hold a request open for ever.
- The URL holds no NUL character (400): no identifier or filter can contain one, and
  PostgreSQL refuses it in any query.

The body is read here and handed on whole, so nothing behind this ever holds more than
the limit, however large a body a client announces or sends.
"""
from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neutrino.api.refusals import send_refusal

LIMIT_KEY = "[oslo_middleware] max_request_body_size"


class BodyTooLarge(Exception):
    """More body arrived than the limit allows."""


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


class RequestGuard:
    """Pure ASGI middleware: size, read time and characters of a request, before the app."""

    def __init__(self, app: ASGIApp, *, max_body: int, body_timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if "\x00" in path or b"%00" in scope["query_string"]:
            await send_refusal(send, path, 400, "The request URL contains a NUL character "
                               "(%00); no identifier or filter can hold one.")
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await send_refusal(send, path, 413, f"The request body is {declared} bytes; this "
                               f"server accepts at most {self.max_body} ({LIMIT_KEY}).")
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read(receive)
        except BodyTooLarge:
            await send_refusal(send, path, 413, f"The request body is larger than "
                               f"{self.max_body} bytes, the most this server accepts "
                               f"({LIMIT_KEY}).")
            return
        except TimeoutError:
            await send_refusal(send, path, 408, f"The request body did not arrive within "
                               f"{self.body_timeout:g} seconds.")
            return
        except ClientGone:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses these before the app is called
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the whole body once, then passes on (disconnects, for one)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
