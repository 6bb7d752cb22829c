"""SharedBatch: root-namespace lines of concurrent callers go to one `ip -batch`."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from neutrino.agent.ip_command import CommandError, IpCommand, SharedBatch


class GatedRunner:
    """Records each `ip -batch` input; the first run waits for `release`, so that callers
    arriving meanwhile queue up behind it as they would behind a slow `ip`."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.inputs: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.fail_on = fail_on

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        lines = (stdin or "").splitlines()
        self.inputs.append(lines)
        self.started.set()
        self.release.wait(10)
        if self.fail_on is not None and self.fail_on in lines:
            raise CommandError(argv, 1, f"Command failed -:{lines.index(self.fail_on) + 1}")
        return ""


def callers(shared: SharedBatch, batches: list[list[str]]) -> tuple[list[threading.Thread],
                                                                    list[Exception | None]]:
    errors: list[Exception | None] = [None] * len(batches)

    def call(i: int) -> None:
        try:
            shared.run(batches[i])
        except CommandError as exc:
            errors[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(batches))]
    return threads, errors


def test_callers_waiting_behind_a_batch_share_the_next_one() -> None:
    runner = GatedRunner()
    shared = SharedBatch(IpCommand(runner), parallel=1)
    first, _ = callers(shared, [["link add a0 type bridge"]])
    first[0].start()
    assert runner.started.wait(5)
    rest = [[f"link add b{i} type bridge", f"link set b{i} up"] for i in range(5)]
    threads, errors = callers(shared, rest)
    for thread in threads:
        thread.start()
    # All five are queued behind the running batch before it ends.
    deadline = threading.Event()
    while len(shared._queue) < 5 and not deadline.wait(0.01):
        pass
    runner.release.set()
    for thread in [*first, *threads]:
        thread.join(10)
    assert errors == [None] * 5
    assert len(runner.inputs) == 2 and shared.batches == 2
    second = runner.inputs[1]
    assert sorted(second) == sorted(line for lines in rest for line in lines)
    for lines in rest:  # each caller's lines stay together and in its order
        at = second.index(lines[0])
        assert second[at:at + 2] == lines


def test_a_failed_batch_fails_every_caller_in_it() -> None:
    runner = GatedRunner(fail_on="link add bad type bridge")
    shared = SharedBatch(IpCommand(runner), parallel=1)
    first, first_errors = callers(shared, [["link add a0 type bridge"]])
    first[0].start()
    assert runner.started.wait(5)
    threads, errors = callers(shared, [["link add ok type bridge"],
                                       ["link add bad type bridge"]])
    for thread in threads:
        thread.start()
    deadline = threading.Event()
    while len(shared._queue) < 2 and not deadline.wait(0.01):
        pass
    runner.release.set()
    for thread in [*first, *threads]:
        thread.join(10)
    assert first_errors == [None]
    assert all(isinstance(e, CommandError) for e in errors)


def test_a_caller_alone_runs_at_once_and_nothing_runs_for_no_lines() -> None:
    runner = GatedRunner()
    runner.release.set()
    shared = SharedBatch(IpCommand(runner))
    shared.run([])
    assert runner.inputs == []
    shared.run(["link set lo up"])
    assert runner.inputs == [["link set lo up"]]


@pytest.mark.parametrize("parallel", [1, 2])
def test_many_callers_all_run_exactly_once(parallel: int) -> None:
    runner = GatedRunner()
    runner.release.set()
    shared = SharedBatch(IpCommand(runner), parallel=parallel, max_lines=3)
    batches = [[f"link add x{i} type bridge", f"link set x{i} up"] for i in range(40)]
    threads, errors = callers(shared, batches)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == [None] * 40
    ran = [line for lines in runner.inputs for line in lines]
    assert sorted(ran) == sorted(line for lines in batches for line in lines)
    assert all(len(lines) <= 3 for lines in runner.inputs)  # max_lines, whole callers
