from __future__ import annotations

import errno
import logging
import threading

import pytest
from kombu.exceptions import OperationalError

from neutrino.agent.heartbeat import FAILING_TIMEOUT, Heartbeat
from neutrino.agent.reachability import Reachability
from neutrino.agent_protocol.messages import AgentState
from neutrino.transport.client import TransportError
from tests.support.fake_server import FakeServer, FlakyClient
from tests.support.waiting import wait_until


def state() -> AgentState:
    return AgentState(agent_type="DHCP agent", binary="neutrino-dhcp-agent", host="HostA")


def test_start_flag_until_the_first_report_gets_through() -> None:
    server = FakeServer()
    beat = Heartbeat(server, state, interval=1)
    server.reachable = False
    assert beat.report_once() is None
    server.reachable = True
    assert beat.report_once() is not None
    beat.report_once()
    assert [r.start_flag for r in server.reports] == [True, False]
    assert beat.agent_id and beat.reports == 2


def test_failing_reports_use_the_short_timeout_and_normal_ones_the_clients() -> None:
    client = FlakyClient(FakeServer())
    beat = Heartbeat(client, state, interval=30)
    beat.report_once()
    client.fail("report_state", TransportError("read timed out"))
    beat.report_once()
    beat.report_once()
    client.heal()
    beat.report_once()
    beat.report_once()
    assert client.report_timeouts == [None, None, FAILING_TIMEOUT, FAILING_TIMEOUT, None]


def test_the_heartbeat_thread_survives_any_transport_error_and_retries_fast(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = FlakyClient(FakeServer())
    client.fail("report_state", OperationalError("[Errno 111] Connection refused"),
                OSError(errno.EINVAL, "Invalid argument"), TransportError("timed out"),
                ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    beat = Heartbeat(client, state, interval=30)  # 30 s: only fast retries can pass below
    beat.start()
    try:
        wait_until(lambda: client.count("report_state") >= 6, 10,
                   message="six tries within seconds although report_interval is 30 s")
        client.heal()
        wait_until(lambda: beat.reports == 1, 5, message="the report after the repair")
        assert beat._thread is not None and beat._thread.is_alive()
    finally:
        beat.stop()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]


def test_a_delivered_heartbeat_wakes_the_other_loops() -> None:
    reach = Reachability("server", spread=lambda: 0.0)
    events = reach.channel("event stream")
    server = FakeServer()
    beat = Heartbeat(server, state, interval=30, reachability=reach)
    for _ in range(10):
        events.failed(TransportError("refused"))
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(events.wait(threading.Event())))
    waiter.start()
    assert beat.report_once() is not None
    waiter.join(5)
    assert woken == [True]


def test_report_soon_reports_before_the_interval() -> None:
    server = FakeServer()
    beat = Heartbeat(server, state, interval=3600)
    beat.start()
    try:
        wait_until(lambda: beat.reports == 1, 5)
        beat.report_soon()
        wait_until(lambda: beat.reports == 2, 5, message="a report long before the hour")
    finally:
        beat.stop()
