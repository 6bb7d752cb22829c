"""How the all-in-one ends: stop signals only take note, cleanup steps all run once, and
status lines survive a reader that went away."""
from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator

import pytest

from neutrino.console import Console
from neutrino.shutdown import STOP_SIGNALS, StopRequest, Teardown


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (*STOP_SIGNALS, signal.SIGPIPE)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_console_falls_back_to_stderr_when_the_pipe_reader_is_gone() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| tee` died of the Ctrl-C
    stdout = io.TextIOWrapper(io.FileIO(write_end, "w"), line_buffering=False)
    stderr = io.StringIO()
    console = Console((stdout, stderr))
    console.say("==> stopping")
    console.say("==> stopped")
    assert stderr.getvalue() == "==> stopping\n==> stopped\n"
    # The broken descriptor now leads to /dev/null: Python's flush at exit cannot fail.
    stdout.write("more")
    stdout.flush()
    assert os.readlink(f"/proc/self/fd/{write_end}") == os.devnull
    stdout.close()


def test_console_with_every_stream_gone_says_nothing_and_never_raises() -> None:
    closed = io.StringIO()
    closed.close()
    console = Console((closed,))
    console.say("==> stopping")
    assert console.silenced


def test_teardown_runs_newest_first_and_every_step_despite_failures() -> None:
    ran: list[str] = []
    said = io.StringIO()
    teardown = Teardown(Console((said,)))
    teardown.add("stopping the server", lambda: ran.append("server"))

    def broken() -> None:
        ran.append("lab")
        raise OSError("ip netns delete failed")

    teardown.add("removing the lab", broken)
    assert teardown.pending
    assert teardown.run() is False
    assert ran == ["lab", "server"]
    assert "removing the lab failed: OSError: ip netns delete failed" in said.getvalue()
    # Idempotent: a second run (a second signal, a finally after an except) does nothing.
    assert not teardown.pending and teardown.run() is True
    assert ran == ["lab", "server"]


@pytest.mark.usefixtures("restored_handlers")
@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_stop_signals_are_noted_not_raised(signum: int) -> None:
    stop = StopRequest()
    stop.install()
    os.kill(os.getpid(), signum)
    os.kill(os.getpid(), signal.SIGINT)  # a second one while stopping changes nothing
    assert stop.wait(5)
    assert stop.signum == signum and stop.name == signal.Signals(signum).name
    assert stop.count == 2
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN


def test_wait_returns_early_on_its_condition_without_a_stop() -> None:
    stop = StopRequest()
    assert stop.wait(30, until=lambda: True) is False
    assert not stop.requested
