"""agent-drain's loop and progress, against a scripted server (the real one runs in
tests/integration/test_drain.py), and the --long readiness column."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from cli_fake_neutron import FakeNeutron
from conftest import Run

from neutrino.cli.api import NeutronClient
from neutrino.cli.commands.drain import run_drain
from neutrino.cli.progress import Progress, bar

AGENT = "a0c1c21c-d4f4-4577-9ec7-908f2d48622d"
NET1 = "89dca1c6-c7d4-4f7a-b730-549af0fb6e34"


class ScriptedDrain:
    """Answers the drain calls from a list of reports, one per call; records the calls."""

    def __init__(self, reports: list[dict[str, Any]]) -> None:
        self.reports = reports
        self.calls: list[tuple[str, int | None]] = []

    def _next(self) -> dict[str, Any]:
        return self.reports.pop(0) if len(self.reports) > 1 else self.reports[0]

    def drain_agent(self, agent_id: str, dry_run: bool = False,
                    limit: int | None = None) -> dict[str, Any]:
        self.calls.append(("start", limit))
        return self._next()

    def drain_status(self, agent_id: str) -> dict[str, Any]:
        self.calls.append(("status", None))
        return self._next()


def report(networks: int, moving: list[str], unmovable: list[str] = ()) -> dict[str, Any]:
    return {"networks": networks, "unmovable": list(unmovable),
            "moving": [{"network_id": n, "to_agent_id": "b"} for n in moving]}


def drive(server: ScriptedDrain, batch: int = 2,
          pause: Callable[[float], None] = lambda _s: None) -> tuple[list[Any], str]:
    stream = io.StringIO()
    client: NeutronClient = server  # type: ignore[assignment]
    rows = run_drain(client, AGENT, batch, 0, Progress(stream, tty=False), lambda: 0.0, pause)
    return rows, stream.getvalue()


def test_drain_starts_moves_in_batches_until_nothing_movable_is_left() -> None:
    server = ScriptedDrain([report(4, ["n1", "n2"]), report(3, ["n2"]),
                            report(3, ["n2", "n3"]), report(1, ["n4"]), report(0, [])])
    rows, shown = drive(server)
    # More moves are asked for only while fewer than a batch are moving and some wait.
    assert server.calls == [("start", 2), ("status", None), ("start", 1), ("status", None),
                            ("status", None)]
    assert rows == [(n, "moved", "b") for n in ("n1", "n2", "n3", "n4")]
    assert shown.splitlines()[0] == "0/4 networks moved off, 2 moving"
    assert shown.splitlines()[-1] == "4/4 networks moved off, 0 moving"


def test_unmovable_networks_end_the_drain_and_are_listed_as_stayed() -> None:
    server = ScriptedDrain([report(2, ["n1"], ["n9"]), report(1, [], ["n9"])])
    rows, shown = drive(server)
    assert rows == [("n1", "moved", "b"), ("n9", "stayed", "")]
    assert "1 cannot move" in shown


def test_stuck_moves_are_counted_in_the_progress_line() -> None:
    stuck = {**report(2, ["n1", "n2"]), "stuck": 1}
    server = ScriptedDrain([stuck, stuck, report(0, [])])
    _, shown = drive(server)
    assert shown.splitlines()[0] == "0/2 networks moved off, 2 moving (1 stuck)"
    assert shown.splitlines()[-1] == "2/2 networks moved off, 0 moving"


def test_progress_bar_redraws_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=True)
    progress.show(1, 4, "moved")
    progress.show(1, 4, "moved")  # unchanged: not drawn again
    progress.end()
    assert stream.getvalue() == f"\r{bar(1, 4)} 1/4 moved\x1b[K\n"
    assert bar(0, 0) == "[" + "#" * 30 + "]" and bar(2, 4, 4) == "[##..]"


def interrupted(_seconds: float) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_says_how_to_resume(cli: Callable[..., Run], neutron: FakeNeutron,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    server = ScriptedDrain([report(3, ["n1"])])
    monkeypatch.setattr(NeutronClient, "drain_agent", lambda _c, *a, **k: server.drain_agent(
        *a, **k))
    monkeypatch.setattr("neutrino.cli.commands.drain.time.sleep", interrupted)
    run = cli("agent-drain", AGENT)
    assert run.code == 130
    assert "run agent-drain again to resume" in run.err


def test_long_shows_each_binding_state(cli: Callable[..., Run], neutron: FakeNeutron) -> None:
    neutron.add_agent(AGENT, "DHCP agent", "HostA", dhcp_state="leaving")
    neutron.add("networks", id=NET1, name="net1", subnets=[], dhcp_state="ready")
    neutron.bindings.add((AGENT, NET1))
    run = cli("dhcp-agent-list-hosting-net", "--long", "net1", "-f", "value")
    assert run.out.split() == [AGENT, "HostA", "True", ":-)", "leaving"]
    run = cli("net-list-on-dhcp-agent", "--long", AGENT, "-f", "value")
    assert run.out.split() == [NET1, "net1", "[]", "ready"]
    run = cli("net-list-on-dhcp-agent", AGENT, "-f", "value")
    assert run.out.split() == [NET1, "net1", "[]"]  # without --long: the old client's table
