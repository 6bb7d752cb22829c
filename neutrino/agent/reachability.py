"""Whether this agent can reach the control plane: one state, logged once per change.

Every loop of an agent that calls the server (heartbeat, event stream, resync) holds a
`Channel` of one shared `Reachability` and reports each call's outcome to it. Three things
follow from that one place:

- the operator reads one WARNING when the server is lost (with the reason) and one INFO
  when it answers again (with how long it was away), not one line per retry;
- every retry waits a bounded, jittered back-off (`neutrino/backoff.py`, at most 1 s), and
  a waiting loop wakes as soon as any other loop's call succeeds: a heartbeat that gets
  through starts the event stream again at once;
- hooks registered with `on_recovery` run when the server answers again (the DHCP agent
  resyncs, the L2 agent refreshes its state).

The server counts as lost once every *decisive* channel (the continuous loops: heartbeat
and event stream) has failed since its last success; a success on any channel brings it
back. A channel that keeps failing while others succeed (an event stream refused while
heartbeats get through: "heartbeating but deaf") is logged once on its own.
`ReachabilityState` is the pure part, driven with explicit times; `Reachability` adds the
lock, the clock, the waiting and the logging.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from neutrino.backoff import BACKOFF_MAX, backoff_delay
from neutrino.transport.client import AgentRefused, TransportError

LOG = logging.getLogger(__name__)

# A channel failing while another succeeds is logged on its own only once this has passed
# since the first success elsewhere: right after an outage a loop may fail once more
# before the server answers it too, which is no news.
PARTIAL_GRACE = 1.0
# How promptly a waiting loop sees its stop event (stop events cannot be waited on together
# with the condition that successes notify).
STOP_TICK = 0.1

ChangeKind = Literal["lost", "back", "channel_failing", "channel_back"]


@dataclass(frozen=True)
class Change:
    """Something worth one log line: the server lost or back, or one channel on its own."""

    kind: ChangeKind
    channel: str
    reason: str = ""
    away: float = 0.0  # for "back" and "channel_back": seconds since the failures began


@dataclass
class ChannelState:
    decisive: bool
    ok: bool | None = None  # None until the first call's outcome
    failures: int = 0  # consecutive, for the back-off
    since: float = 0.0  # when the current run of successes or failures began
    seen: int = 0  # successes (anywhere) counted at this channel's last failure
    streak_seen: int = 0  # successes counted when the failure streak began
    evidence_at: float | None = None  # first success elsewhere during the failure streak
    reported: bool = False  # this channel's failure streak was logged on its own


class ReachabilityState:
    """The pure state machine: outcomes in, changes worth logging out."""

    def __init__(self) -> None:
        self.reachable: bool | None = None  # None until anything answered or all failed
        self.lost_at = 0.0
        self.successes = 0
        self.channels: dict[str, ChannelState] = {}

    def add(self, name: str, decisive: bool = True) -> None:
        self.channels.setdefault(name, ChannelState(decisive=decisive))

    def succeeded(self, name: str | None, now: float) -> list[Change]:
        """A call on channel `name` (None: outside any channel) got an answer."""
        changes: list[Change] = []
        self.successes += 1
        for other_name, other in self.channels.items():
            if other_name != name and other.ok is False and other.evidence_at is None:
                other.evidence_at = now
        if self.reachable is False:
            changes.append(Change("back", name or "", away=now - self.lost_at))
        self.reachable = True
        if name is not None:
            ch = self.channels[name]
            if ch.ok is False and ch.reported:
                changes.append(Change("channel_back", name, away=now - ch.since))
            if ch.ok is not True:
                ch.since = now
            ch.ok, ch.failures, ch.reported, ch.evidence_at = True, 0, False, None
        return changes

    def failed(self, name: str, now: float, reason: str) -> list[Change]:
        """A call on channel `name` failed for want of the server (or was refused)."""
        ch = self.channels[name]
        if ch.ok is not False:
            ch.since, ch.streak_seen, ch.reported, ch.evidence_at = now, self.successes, False, None
        ch.ok = False
        ch.failures += 1
        ch.seen = self.successes
        decisive = [c for c in self.channels.values() if c.decisive]
        if ch.decisive and self.reachable is not False and not any(c.ok for c in decisive):
            self.reachable = False
            # Away since the first failure that led here, not since this last one.
            self.lost_at = min(c.since for c in decisive if c.ok is False)
            return [Change("lost", name, reason)]
        if (self.reachable and not ch.reported and ch.evidence_at is not None
                and now - ch.evidence_at >= PARTIAL_GRACE):
            ch.reported = True
            return [Change("channel_failing", name, reason)]
        return []

    def delay(self, name: str, spread: float) -> float:
        return backoff_delay(self.channels[name].failures, spread)

    def woken(self, name: str) -> bool:
        """Did a call succeed anywhere since this channel last failed?"""
        return self.successes > self.channels[name].seen

    def rewind(self, name: str) -> None:
        """Another loop got an answer: this channel's next failure starts a short back-off."""
        self.channels[name].failures = 0


def describe(exc: BaseException) -> str:
    if isinstance(exc, TransportError | AgentRefused):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


class Reachability:
    """The thread-safe shell around ReachabilityState; `target` names the server in logs."""

    def __init__(self, target: str, clock: Callable[[], float] = time.monotonic,
                 spread: Callable[[], float] = random.random) -> None:
        self.target = target
        self._clock = clock
        self._spread = spread
        self._state = ReachabilityState()
        self._cond = threading.Condition()
        self._hooks: list[Callable[[], None]] = []
        self._traced: set[type[BaseException]] = set()  # unexpected errors shown this outage

    @property
    def reachable(self) -> bool | None:
        """True once anything answered, False once every decisive channel failed."""
        with self._cond:
            return self._state.reachable

    def channel(self, name: str, decisive: bool = True) -> Channel:
        """A loop's handle; `decisive`: its failures alone can mean the server is lost."""
        with self._cond:
            self._state.add(name, decisive)
        return Channel(self, name)

    def on_recovery(self, hook: Callable[[], None]) -> None:
        """Run `hook` (quick, non-blocking) each time the server answers again after loss."""
        with self._cond:
            self._hooks.append(hook)

    def succeeded(self, channel: str | None = None) -> bool:
        """Report an answered call; True if this channel (if any) was not working before."""
        with self._cond:
            before = self._state.channels[channel].ok if channel else True
            changes = self._state.succeeded(channel, self._clock())
            self._cond.notify_all()
            recovered = any(c.kind == "back" for c in changes)
            hooks = list(self._hooks) if recovered else []
            if recovered:
                self._traced.clear()
        for change in changes:
            self._log(change, None)
        for hook in hooks:
            try:
                hook()
            except Exception:  # a hook's bug must not fail the call that found the server
                LOG.exception("recovery hook %r failed", hook)
        return before is not True

    def failed(self, channel: str, exc: BaseException) -> bool:
        """Report a failed call; True if this channel was working or untried before."""
        reason = describe(exc)
        # Not an error the client was meant to raise: show where it came from, once per
        # type and outage, and otherwise treat it as the server being away.
        unexpected = not isinstance(exc, TransportError | AgentRefused)
        with self._cond:
            before = self._state.channels[channel].ok
            changes = self._state.failed(channel, self._clock(), reason)
            trace = unexpected and type(exc) not in self._traced
            if trace:
                self._traced.add(type(exc))
        LOG.debug("%s: call to %s failed: %s", channel, self.target, reason)
        for change in changes:
            self._log(change, exc if trace else None)
        if trace and not changes:
            LOG.error("%s: unexpected error calling %s (retrying): %s", channel, self.target,
                      reason, exc_info=exc)
        return before is not False

    def wait(self, channel: str, stop: threading.Event, spent: float = 0.0) -> bool:
        """Sleep this channel's back-off less `spent`; True at once if a call succeeded
        anywhere since the channel's last failure (its back-off then starts over)."""
        with self._cond:
            end = time.monotonic() + max(0.0, self._state.delay(channel, self._spread())
                                         - spent)
            while True:
                if self._state.woken(channel):
                    self._state.rewind(channel)
                    return True
                left = end - time.monotonic()
                if left <= 0 or stop.is_set():
                    return False
                self._cond.wait(min(left, STOP_TICK))

    def is_ok(self, channel: str) -> bool | None:
        with self._cond:
            return self._state.channels[channel].ok

    def _log(self, change: Change, exc: BaseException | None) -> None:
        if change.kind == "lost":
            LOG.warning("server at %s unreachable (%s: %s); retrying at most %.0f s apart, "
                        "logging again when it answers", self.target, change.channel,
                        change.reason, BACKOFF_MAX, exc_info=exc)
        elif change.kind == "back":
            LOG.info("server at %s answers again after %.1f s away", self.target, change.away)
        elif change.kind == "channel_failing":
            LOG.warning("%s failing while other calls to %s succeed: %s", change.channel,
                        self.target, change.reason, exc_info=exc)
        else:
            LOG.info("%s working again after %.1f s", change.channel, change.away)


class Channel:
    """One loop's view of the shared Reachability: report outcomes, wait between retries."""

    def __init__(self, reach: Reachability, name: str) -> None:
        self.reach = reach
        self.name = name

    @property
    def ok(self) -> bool | None:
        """True after a success, False after a failure, None before the first call."""
        return self.reach.is_ok(self.name)

    def succeeded(self) -> bool:
        """The call got an answer; True if the channel was failing or untried before."""
        return self.reach.succeeded(self.name)

    def failed(self, exc: BaseException) -> bool:
        """The call failed (any exception from the client); True if the channel was
        working or untried before."""
        return self.reach.failed(self.name, exc)

    def wait(self, stop: threading.Event, spent: float = 0.0) -> bool:
        """The back-off before the next try (see Reachability.wait)."""
        return self.reach.wait(self.name, stop, spent)

    def attempt(self, passthrough: tuple[type[Exception], ...] = ()) -> Attempt:
        """`with channel.attempt() as call: <one client call>`, then read call.ok."""
        return Attempt(self, passthrough)


class Attempt:
    """One client call on a channel: its outcome is reported when the block ends.

    Any Exception from the block counts as the call failing and is swallowed here (the
    Reachability logs it, once per failure streak): a driver that lets a socket or kombu
    error through must not end the loop. `passthrough` types propagate unreported.
    """

    def __init__(self, channel: Channel, passthrough: tuple[type[Exception], ...]) -> None:
        self.channel = channel
        self.passthrough = passthrough
        self.ok = False
        self.changed = False  # the channel went from working to failing or back

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None:
            self.ok = True
            self.changed = self.channel.succeeded()
            return False
        if not isinstance(exc, Exception) or isinstance(exc, self.passthrough):
            return False  # KeyboardInterrupt, SystemExit, and what the caller handles
        self.changed = self.channel.failed(exc)
        return True
