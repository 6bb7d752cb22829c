"""The hearing state of a server process, the loops' log-once reports and the heartbeat
buffer across a database outage, with a fake clock and a fake database."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from neutrino.agent_protocol.messages import AgentState, ReportResult
from neutrino.api.loops import FailureLog
from neutrino.errors import DatabaseUnavailable
from neutrino.scheduler.liveness import Channel
from neutrino.services.hearing import Hearing
from neutrino.services.heartbeats import HeartbeatBuffer
from neutrino.transport.client import TransportError
from tests.support.server import settings_for

T0 = datetime(2024, 1, 1, 12, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def hearing(clock: Clock, tmp_path: Any) -> Hearing:
    settings = settings_for("sqlite://", str(tmp_path), agent_down_time=2,
                            dhcp_failover_grace=1)
    return Hearing(settings, clock)


def test_nothing_is_heard_before_the_server_serves(clock: Clock, tmp_path: Any) -> None:
    assert hearing(clock, tmp_path).since() is None


def test_a_start_and_every_database_recovery_restart_hearing(
        clock: Clock, tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "neutrino.services.hearing")
    h = hearing(clock, tmp_path)
    h.start()
    assert h.since() == T0
    assert "failover verdicts resume at 2024-01-01T12:00:03.000 UTC" in caplog.text
    clock.advance(10)
    h.database_reachable(False)
    assert h.since() is None
    back = clock.advance(12)
    h.database_reachable(True)
    assert h.since() == back
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING", "INFO"]
    assert "the database is down" in caplog.records[1].getMessage()
    assert "resume at 2024-01-01T12:00:25.000 UTC" in caplog.records[2].getMessage()


def test_the_broker_link_must_be_up_and_hearing_starts_at_its_last_connection(
        clock: Clock, tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "neutrino.services.hearing")
    link = {"channel": Channel("the RabbitMQ link", None)}
    h = hearing(clock, tmp_path)
    h.watch_broker(lambda: link["channel"])
    h.start()
    assert h.since() is None
    assert "wait until the RabbitMQ link is up" in caplog.text
    link["channel"] = Channel("the RabbitMQ link", clock.advance(1))
    assert h.since() == T0 + timedelta(seconds=1)
    # Lost and back between two looks: the later connection is what counts.
    link["channel"] = Channel("the RabbitMQ link", clock.advance(20))
    assert h.since() == T0 + timedelta(seconds=21)
    h.since()
    assert len(caplog.records) == 3  # start, connected, reconnected: each logged once


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_loop_logs_once_per_state(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "neutrino.api.loops")
    ticks = FakeClock()
    report = FailureLog("DHCP failover", 0.5, ticks)
    for _ in range(50):
        report.failed(DatabaseUnavailable("connection refused"))
        ticks.now += 0.5
    report.worked()
    report.worked()
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.levelname for r in loud] == ["WARNING", "INFO"]
    assert "database unreachable (connection refused)" in loud[0].getMessage()
    assert "works again after 25.0 s (50 failed passes)" in loud[1].getMessage()


def test_a_new_kind_of_failure_is_a_new_state(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "neutrino.api.loops")
    report = FailureLog("heartbeat flush", 0.2)
    report.failed(DatabaseUnavailable("refused"))
    report.failed(TransportError("broker gone"))
    report.failed(TransportError("broker gone"))
    try:
        raise KeyError("bug")
    except KeyError as exc:
        report.failed(exc)
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING", "ERROR"]
    assert caplog.records[2].exc_info is not None  # a bug keeps its traceback


class FakeDatabase:
    """Just what HeartbeatBuffer uses: `reachable` and run(work)."""

    def __init__(self) -> None:
        self.reachable = True
        self.written: list[list[dict[str, Any]]] = []
        self.fail: Callable[[], None] | None = None
        self.agents = {"a1"}  # the rows there are

    def run(self, work: Callable[[Any], Any]) -> Any:
        if self.fail is not None:
            self.fail()
        return work(FakeSession(self))


class FakeSession:
    """A session whose connection is itself: executemany calls are recorded, a select
    (the locking read of admin states) answers every agent the database has."""

    dialect = SimpleNamespace(name="fake")

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def connection(self) -> FakeSession:
        return self

    def execute(self, _statement: Any, rows: list[dict[str, Any]] | None = None) -> Any:
        if rows is not None:
            self.db.written.append(rows)
            return None
        return self

    def __iter__(self) -> Iterator[tuple[str, bool]]:
        return iter([(agent_id, True) for agent_id in sorted(self.db.agents)])


def state(host: str) -> AgentState:
    return AgentState(agent_type="DHCP agent", binary="neutrino-dhcp-agent", host=host,
                      topic="dhcp_agent", configurations={"networks": 1})


def test_heartbeats_survive_a_failed_flush_and_none_is_taken_while_unreachable() -> None:
    db = FakeDatabase()
    buffer = HeartbeatBuffer(db, 5)  # type: ignore[arg-type]
    buffer.remember(state("h1"), ReportResult(agent_id="a1", admin_state_up=True), T0)
    first = T0 + timedelta(seconds=1)
    assert buffer.offer(state("h1"), first) is not None

    def unreachable() -> None:
        db.reachable = False
        raise DatabaseUnavailable("refused")

    db.fail = unreachable
    with pytest.raises(DatabaseUnavailable):
        buffer.flush()
    # Nobody could record it: the agent's report takes the full path and gets the 503.
    assert buffer.offer(state("h1"), first + timedelta(seconds=1)) is None
    db.fail, db.reachable = None, True
    assert buffer.flush() == 1
    # The configurations are those the full report wrote: only the heartbeat is news.
    assert db.written == [[{"b_id": "a1", "b_ts": first}]]


def test_a_newer_report_wins_over_the_one_a_failed_flush_puts_back() -> None:
    db = FakeDatabase()
    buffer = HeartbeatBuffer(db, 5)  # type: ignore[arg-type]
    buffer.remember(state("h1"), ReportResult(agent_id="a1", admin_state_up=True), T0)
    buffer.offer(state("h1"), T0 + timedelta(seconds=1))
    newer = T0 + timedelta(seconds=2)

    def report_meanwhile() -> None:
        db.fail = None
        buffer.offer(state("h1"), newer)  # arrives while the flush is failing
        raise DatabaseUnavailable("lost")

    db.fail = report_meanwhile
    with pytest.raises(DatabaseUnavailable):
        buffer.flush()
    buffer.flush()
    assert db.written[-1][0]["b_ts"] == newer


def test_changed_configurations_are_written_once_even_across_a_failed_flush() -> None:
    db = FakeDatabase()
    buffer = HeartbeatBuffer(db, 5)  # type: ignore[arg-type]
    buffer.remember(state("h1"), ReportResult(agent_id="a1", admin_state_up=True), T0)
    busier = state("h1").model_copy(update={"configurations": {"networks": 2}})
    buffer.offer(busier, T0 + timedelta(seconds=1))

    def report_meanwhile() -> None:
        db.fail = None
        buffer.offer(busier, T0 + timedelta(seconds=2))  # the same news again
        raise DatabaseUnavailable("lost")

    db.fail = report_meanwhile
    with pytest.raises(DatabaseUnavailable):
        buffer.flush()
    buffer.flush()
    assert db.written[-1] == [{"b_id": "a1", "b_conf": {"networks": 2}, "b_load": 2}]
    buffer.offer(busier, T0 + timedelta(seconds=3))
    buffer.flush()
    assert db.written[-1] == [{"b_id": "a1", "b_ts": T0 + timedelta(seconds=3)}]


def raw_of(report: AgentState, form: str = "http") -> tuple[str, bytes]:
    return form, report.model_dump_json().encode()


def registered(db: FakeDatabase) -> HeartbeatBuffer:
    buffer = HeartbeatBuffer(db, 5)  # type: ignore[arg-type]
    buffer.remember(state("h1"), ReportResult(agent_id="a1", admin_state_up=True), T0)
    return buffer


def test_the_same_bytes_again_are_taken_unparsed_and_written_as_a_heartbeat() -> None:
    db = FakeDatabase()
    buffer = registered(db)
    raw = raw_of(state("h1"))
    assert buffer.offer_raw(raw, T0 + timedelta(seconds=1)) is None  # not seen yet
    assert buffer.offer(state("h1"), T0 + timedelta(seconds=1), raw) is not None
    later = T0 + timedelta(seconds=2)
    assert buffer.offer_raw(raw, later) == ReportResult(agent_id="a1", admin_state_up=True)
    assert buffer.flush() == 1
    assert db.written == [[{"b_id": "a1", "b_ts": later}]]


def test_bytes_of_another_form_or_of_an_older_report_are_not_taken() -> None:
    buffer = registered(FakeDatabase())
    raw = raw_of(state("h1"))
    buffer.offer(state("h1"), T0 + timedelta(seconds=1), raw)
    assert buffer.offer_raw(("rabbit", raw[1]), T0 + timedelta(seconds=2)) is None
    busier = state("h1").model_copy(update={"configurations": {"networks": 2}})
    buffer.offer(busier, T0 + timedelta(seconds=2), raw_of(busier))
    assert buffer.offer_raw(raw, T0 + timedelta(seconds=3)) is None
    assert buffer.offer_raw(raw_of(busier), T0 + timedelta(seconds=3)) is not None


def test_repeated_bytes_of_a_dead_restarted_or_deleted_agent_take_the_full_path() -> None:
    db = FakeDatabase()
    buffer = registered(db)
    raw = raw_of(state("h1"))
    buffer.offer(state("h1"), T0 + timedelta(seconds=1), raw)
    # Silent longer than agent_down_time: its revival is noted in the full transaction.
    assert buffer.offer_raw(raw, T0 + timedelta(seconds=7)) is None
    buffer.remember(state("h1"), ReportResult(agent_id="a1", admin_state_up=False), T0)
    assert buffer.offer_raw(raw, T0 + timedelta(seconds=1)) is None  # a full report since
    buffer.offer(state("h1"), T0 + timedelta(seconds=1), raw)
    db.reachable = False
    assert buffer.offer_raw(raw, T0 + timedelta(seconds=2)) is None
    db.reachable = True
    buffer.forget("a1")
    assert buffer.offer_raw(raw, T0 + timedelta(seconds=2)) is None


def test_changed_configurations_stay_news_when_the_same_bytes_follow() -> None:
    db = FakeDatabase()
    buffer = registered(db)
    busier = state("h1").model_copy(update={"configurations": {"networks": 2}})
    buffer.offer(busier, T0 + timedelta(seconds=1), raw_of(busier))
    buffer.offer_raw(raw_of(busier), T0 + timedelta(seconds=2))
    buffer.flush()
    assert db.written == [[{"b_id": "a1", "b_ts": T0 + timedelta(seconds=2)}],
                          [{"b_id": "a1", "b_conf": {"networks": 2}, "b_load": 2}]]
