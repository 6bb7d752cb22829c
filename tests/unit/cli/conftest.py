"""Fixtures that run `neutrino` in-process against the in-memory fake server."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cli_fake_neutron import FakeNeutron

from neutrino.cli.api import Transport
from neutrino.cli.main import main


@dataclass
class Run:
    """What one command line printed and returned."""

    code: int
    out: str
    err: str


@pytest.fixture
def neutron() -> FakeNeutron:
    return FakeNeutron()


@pytest.fixture
def cli(neutron: FakeNeutron) -> Callable[..., Run]:
    """cli('net-list', '-c', 'id') runs one command against `neutron`."""

    def run(*argv: str, transport: Transport | None = None) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), transport=transport or neutron, stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    return run
