"""The one place that runs iproute2 `ip` and `bridge`: every kernel change goes through here."""
from __future__ import annotations

import logging
import socket
import subprocess
from collections.abc import Sequence
from typing import Protocol

LOG = logging.getLogger(__name__)


class CommandError(Exception):
    """A command failed; the message carries the command and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str,
                 stdin: str | None = None) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = f" (input: {stdin.strip()!r})" if stdin else ""
        super().__init__(f"{' '.join(argv)} exited {returncode}: {self.stderr}{detail}")


class Runner(Protocol):
    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        """Run argv, return stdout, raise CommandError on a non-zero exit."""
        ...


class SubprocessRunner:
    def __init__(self, own_session: bool = False) -> None:
        # own_session: a Ctrl-C or hang-up meant for the caller (the lab's command line)
        # must not kill an `ip` halfway through deleting a namespace.
        self.own_session = own_session

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        LOG.debug("running %s", " ".join(argv))
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True,
                              check=False, start_new_session=self.own_session)
        if proc.returncode != 0:
            raise CommandError(argv, proc.returncode, proc.stderr, stdin)
        return proc.stdout


class IpCommand:
    """`ip` in the agent's own namespace or, with netns, inside a named one."""

    def __init__(self, runner: Runner | None = None, ip_path: str = "ip",
                 bridge_path: str = "bridge") -> None:
        self.runner: Runner = runner or SubprocessRunner()
        self.ip_path = ip_path
        self.bridge_path = bridge_path

    def _base(self, netns: str | None) -> list[str]:
        return [self.ip_path] + (["-n", netns] if netns else [])

    def ip(self, *args: str, netns: str | None = None) -> str:
        return self.runner.run([*self._base(netns), *args])

    def batch(self, lines: Sequence[str], netns: str | None = None) -> None:
        """Several `ip` commands in one process: a fork+exec costs more than the work."""
        if lines:
            self.runner.run([*self._base(netns), "-batch", "-"], "".join(f"{ln}\n"
                                                                          for ln in lines))

    def bridge(self, *args: str) -> str:
        return self.runner.run([self.bridge_path, *args])


def link_exists(name: str) -> bool:
    """Whether a link exists in the calling process's namespace (no fork, unlike `ip`)."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True
