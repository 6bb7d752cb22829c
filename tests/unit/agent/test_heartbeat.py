from __future__ import annotations

from neutrino.agent.heartbeat import Heartbeat
from neutrino.transport.messages import AgentState

from .fakes import FakeServer


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
