"""The DHCP agent's confirmations to the server: batched, kept while the server is away."""
from __future__ import annotations

from pathlib import Path

from neutrino.agent.applied_reporter import AppliedReporter
from neutrino.agent_protocol.messages import NetworkApplied
from tests.support.fake_server import FakeServer, make_network
from tests.support.waiting import wait_until

from .test_dhcp_agent import HOST, agent_for, drain


def sent(server: FakeServer) -> list[tuple[str, str, int, bool]]:
    return [(h, n.network_id, n.revision_number, n.serving) for h, n in server.applied]


def test_pending_confirmations_go_in_one_batch_and_are_then_forgotten() -> None:
    server = FakeServer()
    reporter = AppliedReporter(server, HOST)
    reporter.note("net-1", 3, serving=True)
    reporter.note("net-2", 7, serving=False)
    assert reporter.send_once()
    assert sent(server) == [(HOST, "net-1", 3, True), (HOST, "net-2", 7, False)]
    assert reporter.pending() == []
    assert reporter.send_once() and len(server.applied) == 2  # nothing sent twice


def test_unreachable_server_keeps_them_and_a_newer_note_replaces_the_older() -> None:
    server = FakeServer()
    reporter = AppliedReporter(server, HOST)
    server.reachable = False
    reporter.note("net-1", 3, serving=True)
    assert not reporter.send_once()
    reporter.note("net-1", 4, serving=True)
    assert reporter.pending() == [NetworkApplied(network_id="net-1", revision_number=4)]
    server.reachable = True
    assert reporter.send_once()
    assert sent(server) == [(HOST, "net-1", 4, True)]


def test_reporter_thread_resends_once_the_server_is_back() -> None:
    server = FakeServer()
    reporter = AppliedReporter(server, HOST)
    server.reachable = False
    reporter.start()
    try:
        reporter.note("net-1", 5, serving=True)
        wait_until(lambda: reporter.failed_sends >= 2, 5, message="two failed attempts")
        assert reporter.pending() and server.applied == []
        server.reachable = True
        reporter.kick()
        wait_until(lambda: sent(server) == [(HOST, "net-1", 5, True)], 5,
                   message="the kept confirmation to arrive")
        assert reporter.pending() == []
    finally:
        reporter.stop()


def test_agent_confirms_every_converge_and_a_teardown(tmp_path: Path) -> None:
    server = FakeServer()
    server.add_network(make_network("net-1"), [HOST])
    server.add_port("net-1", "vm-1")  # revision 1
    agent, _stub = agent_for(server, tmp_path)
    assert agent.sync_all(wait_done=True)
    assert agent.reporter.pending() == [NetworkApplied(network_id="net-1", revision_number=1)]
    server.unhost("net-1", HOST)
    agent.schedule("net-1")
    drain(agent)
    assert agent.reporter.pending() == [
        NetworkApplied(network_id="net-1", revision_number=1, serving=False)]
    assert agent.reporter.send_once()
    assert server.applied_revision(HOST, "net-1") is None
    assert sent(server) == [(HOST, "net-1", 1, False)]


def test_no_confirmation_without_a_converge(tmp_path: Path) -> None:
    server = FakeServer()
    server.add_network(make_network("net-1"), [HOST])
    agent, _stub = agent_for(server, tmp_path)
    server.reachable = False
    agent.schedule("net-1")
    drain(agent)
    assert agent.reporter.pending() == []  # the server was away: nothing was applied
