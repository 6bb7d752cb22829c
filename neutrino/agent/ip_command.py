"""The one place that runs iproute2 `ip` and `bridge`: every kernel change goes through here."""
from __future__ import annotations

import logging
import secrets
import socket
import subprocess
import threading
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

    def delete_links(self, names: Sequence[str], chunk: int = 50) -> None:
        """Delete links of the calling namespace in groups. Each deletion alone waits for an
        RCU grace period under the RTNL lock (tens of ms: minutes for thousands of bridges);
        a device group deleted at once waits once. Groups of `chunk`: one deletion holds
        the RTNL lock, which every network change on the machine needs, for its whole
        length. The group number is random, so that no other program's group is swept."""
        for start in range(0, len(names), chunk):
            group = 1_000_000 + secrets.randbelow(2**31 - 1_000_000)
            lines = "".join(f"link set {name} group {group}\n"
                            for name in names[start:start + chunk])
            try:
                # -force: a link gone meanwhile (its peer's namespace deleted) skips a line.
                self.runner.run([self.ip_path, "-force", "-batch", "-"], lines)
            except CommandError as exc:
                LOG.debug("some links were already gone: %s", exc.stderr)
            self.ip("link", "delete", "group", str(group))

    def bridge(self, *args: str) -> str:
        return self.runner.run([self.bridge_path, *args])


class SharedBatch:
    """Runs the lines of callers that arrive together in one `ip -batch` (group commit).

    A cold start plugs thousands of networks from a pool of threads; each network's
    root-namespace lines (namespace, bridge, veth) are three or four cheap netlink requests,
    while starting `ip` costs milliseconds. Whoever finds no batch running takes everything
    queued so far and runs it; those who arrive meanwhile wait and form the next batch. No
    timer: a caller alone runs at once. Up to `parallel` batches run at a time: creating a
    namespace runs the kernel's per-namespace set-up, much of it outside the RTNL lock, so
    one `ip` at a time would leave the other CPUs idle. A failed batch fails every caller in
    it (ip stops at the first bad line): a caller must redo its own lines alone on error.
    """

    def __init__(self, ip: IpCommand, parallel: int = 2, max_lines: int = 4000) -> None:
        self.ip = ip
        self.parallel = parallel
        self.max_lines = max_lines  # one bounded stdin, one bounded error message
        self.batches = 0  # how many `ip` processes ran, for benchmarks and tests
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._running = 0

    def run(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        mine = _Request(list(lines))
        with self._cond:
            self._queue.append(mine)
        while not self._lead_or_wait(mine):
            pass
        if mine.error is not None:
            raise mine.error

    def _lead_or_wait(self, mine: _Request) -> bool:
        """Wait for a running batch, or run the queue's head; True once `mine` ran."""
        with self._cond:
            # Taken into a running batch: wait for that batch's end, not for a free slot.
            while not mine.done and (mine.taken or self._running >= self.parallel):
                self._cond.wait()
            if mine.done:
                return True
            self._running += 1
            taken: list[_Request] = []
            count = 0
            while self._queue and (not taken or count + len(self._queue[0].lines)
                                   <= self.max_lines):
                taken.append(self._queue.pop(0))
                taken[-1].taken = True
                count += len(taken[-1].lines)
        # Whatever stops the leader stops the batch: no caller may take it as done.
        error: Exception | None = CommandError([self.ip.ip_path, "-batch"], -1,
                                               "the shared batch did not run to its end")
        try:
            self.ip.batch([line for request in taken for line in request.lines])
            error = None
        except (CommandError, OSError) as exc:  # every caller of the batch gets it
            error = exc
        finally:
            with self._cond:
                for request in taken:
                    request.done, request.error = True, error
                self.batches += 1
                self._running -= 1
                self._cond.notify_all()
        return mine.done


class _Request:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.taken = False
        self.done = False
        self.error: Exception | None = None


def link_exists(name: str) -> bool:
    """Whether a link exists in the calling process's namespace (no fork, unlike `ip`)."""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True
