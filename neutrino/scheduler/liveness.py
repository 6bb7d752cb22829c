"""Liveness: the one rule for `alive` and the one rule for judging an agent dead (pure).

`alive` is what the API shows: the last heartbeat, in server time, is at most
`agent_down_time` old. Failover asks a stricter question: has the agent been silent for
longer than `agent_down_time + dhcp_failover_grace` *while this server could hear it*?
Silence while no server ran, while the server could not reach its database or while its
broker link was down says nothing about the agent, so it never counts: the silence is
measured from max(heartbeat, hearing_since).

Every computation of either question in the server calls this module; nothing else
compares heartbeats with agent_down_time (tests/unit/test_liveness.py checks that).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


def alive_cutoff(now: datetime, agent_down_time: int) -> datetime:
    """The oldest heartbeat that still counts as alive at `now` (for database queries)."""
    return now - timedelta(seconds=agent_down_time)


def is_alive(heartbeat: datetime, now: datetime, agent_down_time: int) -> bool:
    """`alive` as the API shows it: the last heartbeat, in server time, is recent enough."""
    return heartbeat >= alive_cutoff(now, agent_down_time)


def silent_while_heard(heartbeat: datetime, now: datetime, hearing: datetime | None,
                       agent_down_time: int) -> bool:
    """Not alive, and the server has heard agents for at least agent_down_time: the agent
    fell silent, the server did not just go deaf (moves replace such a target at once)."""
    return hearing is not None and hearing <= alive_cutoff(now, agent_down_time) and \
        not is_alive(heartbeat, now, agent_down_time)


@dataclass(frozen=True)
class Channel:
    """One thing the server needs to hear agents (its database, its broker link).

    `up_since`: when it last became usable and has stayed so; None while it is down.
    """

    name: str
    up_since: datetime | None


def hearing_since(serving_since: datetime | None, channels: Iterable[Channel]
                  ) -> datetime | None:
    """Since when the server has heard agents without a break; None while it cannot."""
    if serving_since is None:
        return None
    since = serving_since
    for channel in channels:
        if channel.up_since is None:
            return None
        since = max(since, channel.up_since)
    return since


def failover_silence(agent_down_time: int, dhcp_failover_grace: int) -> timedelta:
    """How long an agent must be silent, while heard, before failover takes its networks."""
    return timedelta(seconds=agent_down_time + dhcp_failover_grace)


def verdicts_resume_at(hearing: datetime, agent_down_time: int,
                       dhcp_failover_grace: int) -> datetime:
    """The first moment after which an agent silent since `hearing` may be judged dead."""
    return hearing + failover_silence(agent_down_time, dhcp_failover_grace)


def judged_dead_after(heartbeat: datetime, hearing: datetime, agent_down_time: int,
                      dhcp_failover_grace: int) -> datetime:
    """The moment after which an agent silent since `heartbeat` is judged dead, if it stays
    silent and the server keeps hearing (the failover loop wakes then, not on a tick)."""
    return max(heartbeat, hearing) + failover_silence(agent_down_time, dhcp_failover_grace)


def failover_cutoff(now: datetime, hearing: datetime | None, agent_down_time: int,
                    dhcp_failover_grace: int) -> datetime | None:
    """Agents whose last heartbeat is older than this are dead for failover; None: nobody.

    now - max(heartbeat, hearing) > silence  <=>  heartbeat < now - silence  and
    hearing < now - silence; the second half does not depend on the agent, so it decides
    whether there is a cutoff at all, and the first half is a plain indexed comparison.
    """
    if hearing is None:
        return None
    cutoff = now - failover_silence(agent_down_time, dhcp_failover_grace)
    return cutoff if hearing < cutoff else None


def judged_dead(heartbeat: datetime, now: datetime, hearing: datetime | None,
                agent_down_time: int, dhcp_failover_grace: int) -> bool:
    """Failover's verdict on one agent: silent too long while the server could hear it."""
    cutoff = failover_cutoff(now, hearing, agent_down_time, dhcp_failover_grace)
    return cutoff is not None and heartbeat < cutoff


# ---- what the agent history notes (services/history.py) ----------------------------------
# An agent turns `dead` in the history when it has been silent for longer than
# agent_down_time while the server could hear it (failover's verdict without the grace, so
# a restart of the control plane notes nobody dead), and `alive_again` as soon as `alive`
# holds again. The gap between the two rules only delays a note; it never loses one.
DEAD = "dead"
ALIVE_AGAIN = "alive_again"


def silence(heartbeat: datetime, now: datetime) -> float:
    """Seconds since the last heartbeat, in server time (for messages, not verdicts)."""
    return (now - heartbeat).total_seconds()


def history_dead_cutoff(now: datetime, hearing: datetime | None, agent_down_time: int
                        ) -> datetime | None:
    """Agents noted alive whose heartbeat is older than this turn dead; None: nobody."""
    return failover_cutoff(now, hearing, agent_down_time, 0)


def history_transition(heartbeat: datetime, noted_dead: bool, now: datetime,
                       hearing: datetime | None, agent_down_time: int) -> str | None:
    """The transition the history should note for one agent (DEAD, ALIVE_AGAIN) or None."""
    if noted_dead:
        return ALIVE_AGAIN if is_alive(heartbeat, now, agent_down_time) else None
    return DEAD if judged_dead(heartbeat, now, hearing, agent_down_time, 0) else None
