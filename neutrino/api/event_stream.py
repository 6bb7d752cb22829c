"""Server-sent events: the text/event-stream framing, and a push loop that ends by itself
when the server stops, when the caller may no longer see the data, or after a while.

An open stream is a request that never completes, and uvicorn's graceful stop waits for
every request in progress (it has no timeout by default): a stream that only ended when
its client went away would keep a stopping server alive for as long as a dashboard stays
open. So each loop also waits on the process's `stopping` event, which the connection
protocol sets when uvicorn begins its stop (api/connection_guard.py), and every stream is
bounded in time anyway; the client reconnects (the `retry:` field tells it when).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

# The key under which the lifespan state holds the process's `stopping` asyncio.Event.
STOPPING_STATE = "neutrino.stopping"
# A stream is closed after this long; the browser opens a new one (tokens are re-checked
# every push anyway: this bounds what a forgotten tab holds on a server).
MAX_STREAM_SECONDS = 600.0
RECONNECT_MS = 2000


def frame(event: str, data: str) -> bytes:
    """One event; a data line per line of `data`, as the format requires."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


class Refused(Exception):
    """The caller may no longer read the stream (token expired or revoked, role gone)."""


async def _stopped_within(stopping: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
        return True
    except TimeoutError:
        return False


async def pushes(render: Callable[[], Awaitable[str]], check: Callable[[], Awaitable[None]],
                 stopping: asyncio.Event, period: float,
                 max_seconds: float = MAX_STREAM_SECONDS) -> AsyncIterator[bytes]:
    """`render()` as a `view` event every `period` seconds, until the server stops, `check()`
    raises Refused (sent as a `refused` event, then the stream ends) or `max_seconds` pass.

    `render` may raise RenderFailed: its message goes out as an `unavailable` event and the
    loop tries again next period (a database outage must not end a dashboard's stream).
    """
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    deadline = time.monotonic() + max_seconds
    while not stopping.is_set() and time.monotonic() < deadline:
        try:
            await check()
        except Refused as exc:
            yield frame("refused", str(exc))
            return
        try:
            yield frame("view", await render())
        except RenderFailed as exc:
            yield frame("unavailable", str(exc))
        if await _stopped_within(stopping, min(period, max(0.0, deadline - time.monotonic()))):
            break
    yield frame("closing", "The server closes this stream; reconnect.")


class RenderFailed(Exception):
    """This push could not be rendered (the database is unreachable); the next may be."""
