"""Status lines for a person watching a foreground process, written so that the process
never depends on anyone reading them.

A reader can vanish at any moment: `| tee` dies of the same Ctrl-C as we do (EPIPE), a closed
terminal answers EIO. A process that must clean up after itself cannot let such a write fail
its cleanup, so a stream that fails once is given up: its descriptor is pointed at /dev/null
(so that Python's flush at exit, a traceback, or a child started later cannot trip over it
again) and the lines go to the next stream, stderr after stdout."""
from __future__ import annotations

import os
import sys
from typing import TextIO


class Console:
    def __init__(self, streams: tuple[TextIO, ...] | None = None) -> None:
        self._streams = list(streams if streams is not None else (sys.stdout, sys.stderr))

    def say(self, text: str) -> None:
        """Write one line to the first stream that still takes it; never raises."""
        while self._streams:
            stream = self._streams[0]
            try:
                stream.write(text + "\n")
                stream.flush()
                return
            except (OSError, ValueError):  # ValueError: the stream was closed
                self._give_up(stream)

    @property
    def silenced(self) -> bool:
        """True once no stream is left to write to."""
        return not self._streams

    def _give_up(self, stream: TextIO) -> None:
        self._streams.remove(stream)
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
        # What the failed write left in the buffer now drains into /dev/null.
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # nothing more can be done about this stream; it is given up already
