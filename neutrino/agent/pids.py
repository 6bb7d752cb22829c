"""Processes by pid: pid files, command lines and zombies, read from /proc (no signals)."""
from __future__ import annotations

import os


def read_pid(pid_file: str | os.PathLike[str]) -> int | None:
    """The pid a pid file holds; None when it is missing or holds no number."""
    try:
        with open(pid_file, encoding="ascii") as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def cmdline(pid: int) -> list[str]:
    """The process's argv; [] when it is gone or (hidepid) not ours to see."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_zombie(pid: int) -> bool:
    """Exited but not reaped (or gone altogether): it holds no socket and serves nobody."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # The state follows the parenthesised command name, which may contain spaces.
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
