"""The L2 agent's wiring reports: differences only, resent while the server is away."""
from __future__ import annotations

from neutrino.agent.device_reporter import DeviceReporter, changes
from neutrino.agent.reachability import Reachability
from neutrino.transport.client import AgentRefused, TransportError
from neutrino.transport.messages import BoundDevice, L2HostState

from .fakes import FakeServer, FlakyClient, make_network

HOST = "HostA"


def bound(*ports: tuple[str, bool]) -> L2HostState:
    return L2HostState(devices=[
        BoundDevice(port_id=p, network_id="net-1", mac_address="fa:16:3e:00:00:01",
                    network_type="vxlan", segmentation_id=1001, wired=w) for p, w in ports])


def test_changes_are_what_differs_from_the_servers_view() -> None:
    state = bound(("p1", False), ("p2", True), ("p3", True), ("p4", False))
    known = {d.port_id: d.wired for d in state.devices}
    assert changes(state, frozenset({"p1", "p2"}), known) == (["p1"], ["p3"])
    assert changes(state, frozenset({"p2", "p3"}), known) == ([], [])
    # A port the server never mentioned counts as not wired.
    assert changes(state, frozenset({"p1"}), {}) == (["p1"], [])


def reporter() -> tuple[DeviceReporter, FlakyClient]:
    server = FakeServer()
    server.add_network(make_network("net-1"), [])
    for port_id in ("p1", "p2"):
        server.add_port("net-1", port_id, host=HOST)
    flaky = FlakyClient(server)
    reach = Reachability("http://controller:9696/")
    return DeviceReporter(flaky, HOST, reach.channel("device reports", decisive=False)), flaky


def test_a_report_the_server_missed_is_sent_again_and_only_once_it_took_it() -> None:
    rep, flaky = reporter()
    state = flaky.get_l2_state(HOST)
    rep.state_refreshed(state)
    flaky.fail("update_device_list", TransportError("connection refused"))
    assert rep.report(state, frozenset({"p1"})) is False
    assert rep.report(state, frozenset({"p1"})) is False
    assert flaky.server.wired == {}
    flaky.heal()
    assert rep.report(state, frozenset({"p1"})) is True
    assert flaky.server.wired == {"p1": HOST}
    rep.report(state, frozenset({"p1"}))  # nothing new: no call
    assert len(flaky.server.device_reports) == 1
    rep.report(state, frozenset())  # the tap went away
    assert flaky.server.wired == {}
    assert [(r.devices_up, r.devices_down) for _, r in flaky.server.device_reports] == [
        (["p1"], []), ([], ["p1"])]


def test_the_servers_view_after_a_refresh_wins() -> None:
    # The server forgot the wiring (the port was rebound away and back): the next refresh
    # says so, and the agent reports the port again although its tap never moved.
    rep, flaky = reporter()
    rep.state_refreshed(flaky.get_l2_state(HOST))
    rep.report(flaky.get_l2_state(HOST), frozenset({"p1", "p2"}))
    assert flaky.server.wired == {"p1": HOST, "p2": HOST}
    del flaky.server.wired["p2"]
    state = flaky.get_l2_state(HOST)
    rep.state_refreshed(state)
    rep.report(state, frozenset({"p1", "p2"}))
    assert flaky.server.device_reports[-1][1].devices_up == ["p2"]
    assert flaky.server.wired == {"p1": HOST, "p2": HOST}


def test_a_refused_report_is_not_repeated_every_poll() -> None:
    rep, flaky = reporter()
    state = flaky.get_l2_state(HOST)
    rep.state_refreshed(state)
    flaky.fail("update_device_list", AgentRefused("404 Not Found"))
    assert rep.report(state, frozenset({"p1"})) is True
    assert rep.report(state, frozenset({"p1"})) is True
    assert flaky.count("update_device_list") == 1
