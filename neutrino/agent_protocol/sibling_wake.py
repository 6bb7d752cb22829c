"""Wakes the long-polls of this server's other API workers when this worker commits events.

With api_workers > 1 an agent's long-poll sits in one worker while the port it waits for is
created in another; without a nudge it learns of the event only at its next database poll
(DB_POLL_INTERVAL, 0.5 s), which was most of the churn benchmark's p99 from port create to
lease. Each worker binds a datagram socket in a directory the master made for this run
(its path in WAKE_DIR_ENV, inherited by the spawned workers) and, after a commit that wrote
events, sends one empty datagram to every other socket there. Replicas on other machines
still rely on the database poll; so does any worker whose datagram is lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterator

LOG = logging.getLogger(__name__)

WAKE_DIR_ENV = "NEUTRINO_WORKER_WAKE_DIR"
SUFFIX = ".wake"


@contextlib.contextmanager
def wake_dir() -> Iterator[str]:
    """A fresh directory for this run's workers, named in the environment they inherit."""
    with tempfile.TemporaryDirectory(prefix="neutrino-wake-") as path:
        os.environ[WAKE_DIR_ENV] = path
        try:
            yield path
        finally:
            os.environ.pop(WAKE_DIR_ENV, None)


class SiblingWake:
    """One worker's end: `listen` on the event loop, `tell` from any thread."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, f"{os.getpid()}{SUFFIX}")
        self._sock: socket.socket | None = None
        self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._out.setblocking(False)

    @classmethod
    def from_env(cls) -> SiblingWake | None:
        directory = os.environ.get(WAKE_DIR_ENV)
        return cls(directory) if directory and os.path.isdir(directory) else None

    def listen(self, loop: asyncio.AbstractEventLoop, woken: Callable[[], None]) -> None:
        """Call `woken` on the loop whenever a sibling committed events."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # a pid reused from an earlier worker of this run
        sock.bind(self.path)
        sock.setblocking(False)
        self._sock = sock

        def readable() -> None:
            # Any number of datagrams means the same thing: look at the log again.
            with contextlib.suppress(BlockingIOError):
                while True:
                    sock.recv(16)
            woken()

        loop.add_reader(sock.fileno(), readable)

    def tell(self) -> None:
        """Nudge every other worker; never blocks (a full queue means it is woken already)."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:  # the run is ending
            return
        for name in names:
            path = os.path.join(self.directory, name)
            if not name.endswith(SUFFIX) or path == self.path:
                continue
            try:
                self._out.sendto(b"", path)
            except (BlockingIOError, ConnectionRefusedError, FileNotFoundError):
                continue  # already woken, or a worker that stopped
            except OSError as exc:
                LOG.debug("could not wake API worker %s: %s", name, exc)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._sock is not None:
            loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        self._out.close()
