"""Fixtures of the agent end-to-end tests: a lab per test, or one per module."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.agent_lab import Lab, lab_for_test


@pytest.fixture
def lab() -> Iterator[Lab]:
    with lab_for_test() as the_lab:
        yield the_lab


@pytest.fixture(scope="module")
def module_lab() -> Iterator[Lab]:
    """One lab shared by the tests of a module (one deployment, several checks)."""
    with lab_for_test() as the_lab:
        yield the_lab
