"""How a long CLI operation shows progress: a bar redrawn in place on a terminal, a plain
line per change otherwise (logs, pipes, CI), so both read well."""
from __future__ import annotations

from typing import TextIO

WIDTH = 30


def bar(done: int, total: int, width: int = WIDTH) -> str:
    """`[#####·····]` for done of total (an empty total is complete)."""
    filled = width if total <= 0 else min(width, done * width // total)
    return "[" + "#" * filled + "." * (width - filled) + "]"


class Progress:
    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._last = ""

    def show(self, done: int, total: int, note: str) -> None:
        line = f"{done}/{total} {note}"
        if line == self._last:
            return
        self._last = line
        if self.tty:
            self.stream.write(f"\r{bar(done, total)} {line}\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._last:
            self.stream.write("\n")
            self.stream.flush()
