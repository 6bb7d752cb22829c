"""Liveness: `alive`, the hearing window and failover's verdict, with plain data; and the
check that no other module computes them."""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.scheduler.liveness import (
    Channel,
    failover_cutoff,
    hearing_since,
    is_alive,
    judged_dead,
    judged_dead_after,
    verdicts_resume_at,
)

T0 = datetime(2024, 1, 1, 12, 0, 0)
PACKAGE = Path(__file__).resolve().parents[2] / "neutrino"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(("age", "down", "alive"), [
    (0, 5, True),
    (5, 5, True),  # inclusive, as the API has always shown it
    (5.001, 5, False),
    (-1, 5, True),  # a heartbeat "from the future" (written after now was read) is alive
    (74, 75, True),
    (76, 75, False),
])
def test_is_alive_counts_agent_down_time_inclusively(age: float, down: int, alive: bool
                                                     ) -> None:
    assert is_alive(at(-age), T0, down) is alive


@pytest.mark.parametrize(("serving", "channels", "expected"), [
    (None, [], None),  # not serving yet: nothing is heard
    (at(0), [], at(0)),
    (at(0), [Channel("db", datetime.min)], at(0)),
    (at(0), [Channel("db", None)], None),  # database unreachable now
    (at(0), [Channel("db", at(30))], at(30)),  # database back at 30 s
    (at(0), [Channel("db", at(30)), Channel("broker", at(10))], at(30)),
    (at(0), [Channel("db", at(30)), Channel("broker", at(40))], at(40)),
    (at(0), [Channel("db", at(30)), Channel("broker", None)], None),  # broker down
    (at(50), [Channel("db", at(30)), Channel("broker", at(40))], at(50)),  # restarted at 50
])
def test_hearing_lasts_since_the_latest_of_start_and_every_channel_coming_back(
        serving: datetime | None, channels: list[Channel], expected: datetime | None) -> None:
    assert hearing_since(serving, channels) == expected


# agent_down_time 2, grace 1: an agent is dead for failover after 3 s of heard silence.
@pytest.mark.parametrize(("heartbeat", "hearing", "now", "dead"), [
    (at(0), at(-100), at(3), False),  # exactly 3 s: not yet
    (at(0), at(-100), at(3.001), True),
    (at(0), None, at(1000), False),  # cannot hear now: no verdict at all
    # Server restarted at 10 after a 10 s outage; the agent's last heartbeat was at 0.
    (at(0), at(10), at(12), False),  # 2 s of hearing: its silence before 10 does not count
    (at(0), at(10), at(13), False),
    (at(0), at(10), at(13.001), True),  # silent through a full grace of hearing: dead
    (at(11), at(10), at(13.5), False),  # it reported after the restart
    (at(11), at(10), at(14.001), True),  # and then fell silent for good
    (at(-50), at(0), at(2.5), False),  # database back at 0: a long-dead agent waits too
])
def test_failover_counts_only_silence_the_server_could_hear(
        heartbeat: datetime, hearing: datetime | None, now: datetime, dead: bool) -> None:
    assert judged_dead(heartbeat, now, hearing, 2, 1) is dead


def test_verdicts_resume_after_agent_down_time_and_grace_of_hearing() -> None:
    assert verdicts_resume_at(at(10), 2, 1) == at(13)
    assert failover_cutoff(at(13), at(10), 2, 1) is None
    assert failover_cutoff(at(13.5), at(10), 2, 1) == at(10.5)


times = st.floats(-1000, 1000).map(at)


@given(heartbeat=times, hearing=st.none() | times, now=times, down=st.integers(1, 100),
       grace=st.integers(0, 100))
def test_judged_dead_is_heard_silence_beyond_down_time_and_grace(
        heartbeat: datetime, hearing: datetime | None, now: datetime, down: int, grace: int
) -> None:
    expected = hearing is not None and \
        now - max(heartbeat, hearing) > timedelta(seconds=down + grace)
    assert judged_dead(heartbeat, now, hearing, down, grace) is expected
    if expected:  # failover never takes networks from an agent the API shows alive
        assert not is_alive(heartbeat, now, down)
        assert now > verdicts_resume_at(hearing, down, grace)  # type: ignore[arg-type]


# What a second copy of the rule looks like: arithmetic of heartbeats with agent_down_time.
COPIES = [
    re.compile(r"timedelta\(\s*seconds\s*=[^)]*(down|grace)"),
    re.compile(r"now\s*-\s*[\w.]*heartbeat"),
    re.compile(r"heartbeat[\w.]*\s*[<>]=?\s*(now|[\w.]*down)"),
    re.compile(r"agent_down_time\s*[+-]|[+-]\s*[\w.]*agent_down_time"),
]


def code_of(source: str) -> str:
    """The module's code without comments and docstrings (prose may name the rule)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.unparse(tree)


def copies_of_the_rule(source: str) -> list[str]:
    return [line.strip() for line in code_of(source).splitlines()
            if any(pattern.search(line) for pattern in COPIES)]


def test_the_liveness_rule_is_written_once() -> None:
    found = {str(path.relative_to(PACKAGE)): lines
             for path in PACKAGE.rglob("*.py")
             if path.name != "liveness.py"
             and (lines := copies_of_the_rule(path.read_text()))}
    assert found == {}, "compute alive and failover verdicts with neutrino.scheduler.liveness"


@pytest.mark.parametrize("line", [
    "revived = now - agent.heartbeat_timestamp > down",
    "limit = now - timedelta(seconds=self.settings.agent_down_time + self.settings.grace)",
    "self._down = timedelta(seconds=agent_down_time)",
    "stale = known is None or now - known.heartbeat > self._down",
    "limit = now - timedelta(seconds=down)",
])
def test_the_check_finds_the_copies_it_replaced(line: str) -> None:
    assert copies_of_the_rule(line) == [line]


@given(beat=st.floats(0, 100), hearing=st.floats(0, 100), down=st.integers(1, 30),
       grace=st.integers(0, 30), step=st.floats(0.001, 5))
def test_the_failover_deadline_is_when_the_verdict_turns(beat: float, hearing: float,
                                                         down: int, grace: int,
                                                         step: float) -> None:
    """The loop wakes at judged_dead_after: not dead then, dead any moment later."""
    due = judged_dead_after(at(beat), at(hearing), down, grace)
    assert not judged_dead(at(beat), due, at(hearing), down, grace)
    assert judged_dead(at(beat), due + timedelta(seconds=step), at(hearing), down, grace)
