"""The agent's view of the control plane: back-off, one log line per change, waking up."""
from __future__ import annotations

import errno
import logging
import threading

import pytest
from kombu.exceptions import OperationalError

from neutrino.agent.reachability import PARTIAL_GRACE, Reachability, ReachabilityState
from neutrino.backoff import BACKOFF_MAX, BACKOFF_START, backoff_delay
from neutrino.transport.client import TransportError

LOGGER = "neutrino.agent.reachability"


# ---- the pure part -------------------------------------------------------------------------

@pytest.mark.parametrize("spread", [0.0, 0.5, 0.999])
def test_backoff_starts_short_grows_and_never_exceeds_one_second(spread: float) -> None:
    delays = [backoff_delay(n, spread) for n in range(1, 40)]
    assert delays[0] <= BACKOFF_START
    assert delays == sorted(delays)  # never shrinks while failures go on
    assert max(delays) <= BACKOFF_MAX == 1.0
    assert delays[-1] >= 0.8 * BACKOFF_MAX  # reaches the cap, jitter only shortens
    assert backoff_delay(0, spread) == 0.0


def test_jitter_spreads_the_delay() -> None:
    assert backoff_delay(10, 0.0) != backoff_delay(10, 0.9)


def state_with_two_loops() -> ReachabilityState:
    state = ReachabilityState()
    state.add("heartbeat")
    state.add("event stream")
    state.add("resync", decisive=False)
    return state


def test_lost_once_every_decisive_loop_failed_and_back_once_anything_answers() -> None:
    s = state_with_two_loops()
    assert s.succeeded("heartbeat", 0.0) == [] and s.succeeded("event stream", 0.0) == []
    assert s.failed("event stream", 10.0, "refused") == []  # the heartbeat still stands
    assert s.failed("resync", 10.5, "refused") == []  # not decisive
    lost = s.failed("heartbeat", 11.0, "EINVAL")
    assert [(c.kind, c.reason) for c in lost] == [("lost", "EINVAL")]
    for t in range(12, 40):  # the retries of both loops: no news
        assert s.failed("heartbeat", float(t), "EINVAL") == []
        assert s.failed("event stream", t + 0.5, "refused") == []
    back = s.succeeded("heartbeat", 41.0)
    assert [(c.kind, c.away) for c in back] == [("back", 31.0)]  # since the first failure
    assert s.succeeded("event stream", 41.1) == []  # the server is already back


def test_an_unreachable_server_at_start_is_lost_at_the_first_failure() -> None:
    s = state_with_two_loops()
    assert [c.kind for c in s.failed("heartbeat", 0.0, "refused")] == ["lost"]
    assert s.reachable is False


def test_a_loop_failing_while_others_answer_is_logged_once_on_its_own() -> None:
    s = state_with_two_loops()
    s.succeeded("heartbeat", 0.0)
    s.succeeded("event stream", 0.0)
    assert s.failed("event stream", 1.0, "500") == []
    s.succeeded("heartbeat", 1.1)  # evidence that the server answers
    assert s.failed("event stream", 1.2, "500") == []  # maybe just late: not yet news
    failing = s.failed("event stream", 1.1 + PARTIAL_GRACE, "500")
    assert [(c.kind, c.channel) for c in failing] == [("channel_failing", "event stream")]
    assert s.failed("event stream", 5.0, "500") == []
    assert s.reachable is True
    back = s.succeeded("event stream", 9.0)
    assert [(c.kind, c.away) for c in back] == [("channel_back", 8.0)]


def test_back_off_grows_per_loop_and_resets_on_success() -> None:
    s = state_with_two_loops()
    for _ in range(10):
        s.failed("event stream", 0.0, "x")
    assert s.delay("event stream", 0.0) == BACKOFF_MAX
    s.succeeded("event stream", 1.0)
    s.failed("event stream", 2.0, "x")
    assert s.delay("event stream", 0.0) == BACKOFF_START


def test_a_success_elsewhere_wakes_a_waiting_loop_and_restarts_its_back_off() -> None:
    s = state_with_two_loops()
    for _ in range(10):
        s.failed("event stream", 0.0, "x")
    assert not s.woken("event stream")
    s.succeeded("heartbeat", 1.0)
    assert s.woken("event stream")
    s.rewind("event stream")
    s.failed("event stream", 1.1, "x")
    assert not s.woken("event stream")
    assert s.delay("event stream", 0.0) == BACKOFF_START


# ---- the shell: logging, waiting, hooks ------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_logs_one_warning_and_one_info(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    reach = Reachability("http://controller:9696/", clock, spread=lambda: 0.0)
    beat, events = reach.channel("heartbeat"), reach.channel("event stream")
    beat.succeeded()
    events.succeeded()
    caplog.set_level(logging.DEBUG, LOGGER)
    failures: list[Exception] = [TransportError("connection refused"),
                                 OperationalError("[Errno 111] Connection refused"),
                                 OSError(errno.EINVAL, "Invalid argument")]
    for i in range(60):
        clock.now += 0.5
        (beat if i % 2 else events).failed(failures[i % 3])
    clock.now += 1.0
    beat.succeeded()
    events.succeeded()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert [level for level, _ in lines if level in ("WARNING", "INFO")] == ["WARNING", "INFO"]
    warning = next(m for level, m in lines if level == "WARNING")
    assert "http://controller:9696/ unreachable" in warning and "Errno" in warning
    info = next(m for level, m in lines if level == "INFO")
    assert "after 30.5 s" in info
    # Errors a driver was not meant to raise show their traceback, once per type.
    traced = [r for r in caplog.records if r.exc_info]
    assert sorted(type(r.exc_info[1]).__name__ for r in traced if r.exc_info) == [
        "OSError", "OperationalError"]
    assert len(lines) == 3


def test_wait_returns_at_once_when_another_loop_succeeded() -> None:
    reach = Reachability("server", spread=lambda: 0.0)
    beat, events = reach.channel("heartbeat"), reach.channel("event stream")
    for _ in range(10):
        events.failed(TransportError("down"))  # back-off now at its 1 s cap
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(events.wait(threading.Event())))
    waiter.start()
    beat.succeeded()  # before or during the wait: either way it must end the wait
    waiter.join(5)
    assert results == [True]


def test_wait_without_news_sleeps_the_back_off_and_stop_ends_it() -> None:
    reach = Reachability("server", spread=lambda: 0.0)
    events = reach.channel("event stream")
    events.failed(TransportError("down"))
    assert events.wait(threading.Event()) is False  # BACKOFF_START, nobody answered
    stop = threading.Event()
    stop.set()
    for _ in range(10):
        events.failed(TransportError("down"))
    assert events.wait(stop) is False


def test_recovery_hooks_run_once_per_recovery() -> None:
    reach = Reachability("server")
    beat = reach.channel("heartbeat")
    calls: list[int] = []
    reach.on_recovery(lambda: calls.append(1))
    beat.succeeded()  # the first answer is no recovery
    for _ in range(2):
        beat.failed(TransportError("down"))
        beat.failed(TransportError("down"))
        beat.succeeded()
        beat.succeeded()
    assert calls == [1, 1]


def test_attempt_reports_outcomes_and_swallows_any_client_error() -> None:
    reach = Reachability("server")
    events = reach.channel("event stream")
    with events.attempt() as call:
        raise OperationalError("[Errno 22] Invalid argument")
    assert not call.ok and call.changed and events.ok is False
    with events.attempt() as call:
        pass
    assert call.ok and call.changed and events.ok is True
    with pytest.raises(KeyboardInterrupt), events.attempt():
        raise KeyboardInterrupt
    with pytest.raises(ValueError), events.attempt(passthrough=(ValueError,)):
        raise ValueError("for the caller")
