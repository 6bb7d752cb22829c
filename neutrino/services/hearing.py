"""Since when this server process has been able to hear agents without a break.

The state lives here; the rule (what counts as hearing, when a silent agent is dead) is
scheduler/liveness.py. Hearing starts when the process starts serving and breaks whenever
the database is unreachable (any failed transaction or read, reported by the Database) or,
over RabbitMQ, whenever the broker link is down. Failover judges nobody dead until
agent_down_time + dhcp_failover_grace of unbroken hearing has passed, so a restart or an
outage of the control plane, in which agents were silent only because nobody could hear
them, moves no network.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from neutrino.config import ServerSettings
from neutrino.scheduler.liveness import Channel, hearing_since, verdicts_resume_at
from neutrino.services.clock import utcnow

LOG = logging.getLogger(__name__)

DATABASE = "the database"
BrokerChannel = Callable[[], Channel]


class Hearing:
    """Tracks the channels agents are heard through; since() is what failover asks."""

    def __init__(self, settings: ServerSettings, clock: Callable[[], datetime] = utcnow
                 ) -> None:
        self._down = settings.agent_down_time
        self._grace = settings.dhcp_failover_grace
        self._clock = clock
        self._lock = threading.Lock()
        self._serving_since: datetime | None = None
        # The database was reachable when the server opened it; only a failure says not.
        self._database = Channel(DATABASE, datetime.min)
        self._broker: BrokerChannel | None = None
        self._last: datetime | None = None  # what since() answered last, to log changes

    def watch_broker(self, channel: BrokerChannel) -> None:
        """Hear agents only while `channel()` says the broker link is up (rabbit://)."""
        self._broker = channel

    def start(self) -> None:
        """The process serves from now: silence before now says nothing about agents."""
        with self._lock:
            self._serving_since = self._clock()
            channels = self._channels()
            since = self._last = hearing_since(self._serving_since, channels)
        if since is None:
            LOG.info("server started; failover verdicts wait until %s is up, then "
                     "agent_down_time (%d s) of hearing", _down_names(channels), self._down)
        else:
            LOG.info("server started; failover verdicts resume at %s (agent_down_time of "
                     "hearing)", self._resume(since))

    def database_reachable(self, reachable: bool) -> None:
        """Database.watch_reachability hook: a failure breaks hearing, an answer resumes it."""
        with self._lock:
            self._database = Channel(DATABASE, self._clock() if reachable else None)
        self.since()

    def since(self) -> datetime | None:
        """Since when agents have been heard without a break; None while they cannot be."""
        with self._lock:
            if self._serving_since is None:
                return None
            channels = self._channels()
            since = hearing_since(self._serving_since, channels)
            changed, self._last = since != self._last, since
        if not changed:
            return since
        if since is None:
            LOG.warning("cannot hear agents: %s is down; no agent is judged dead for failover "
                        "until agent_down_time (%d s) after it is back", _down_names(channels),
                        self._down)
        else:
            LOG.info("hearing agents again; failover verdicts resume at %s (agent_down_time "
                     "of hearing)", self._resume(since))
        return since

    def _channels(self) -> list[Channel]:
        return [self._database] + ([self._broker()] if self._broker is not None else [])

    def _resume(self, since: datetime) -> str:
        return verdicts_resume_at(since, self._down, self._grace).isoformat(
            timespec="milliseconds") + " UTC"


def _down_names(channels: list[Channel]) -> str:
    return " and ".join(c.name for c in channels if c.up_since is None)
