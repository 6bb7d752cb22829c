"""Progress of a long operation: a bar redrawn in place on a terminal, plain lines otherwise.

A log or a pipe wants one line per finished step that a person can read later; a terminal
wants one line that fills up. Both get the step's own text.
"""

from __future__ import annotations

from typing import TextIO

WIDTH = 30


def bar(done: int, total: int, width: int = WIDTH) -> str:
    """`[#########.....]  3/5` for `done` steps of `total`."""
    filled = width if total <= 0 else width * done // total
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Progress:
    def __init__(self, stream: TextIO, total: int, tty: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.tty = stream.isatty() if tty is None else tty

    def step(self, text: str) -> None:
        """One step finished; `text` says which."""
        self.done += 1
        if self.tty:
            # The step's line stays above the bar, which is redrawn below it.
            self.stream.write(f"\r\x1b[K{text}\n{bar(self.done, self.total)}")
        else:
            self.stream.write(f"{text} ({self.done}/{self.total})\n")
        self.stream.flush()

    def start(self) -> None:
        if self.tty:
            self.stream.write(bar(self.done, self.total))
            self.stream.flush()

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
