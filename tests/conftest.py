"""Suite-wide hooks. Every test marked `root`, wherever it lives, goes through the one rule
of tests/support/needs.py before its fixtures run: skipped loudly without root and the
data-plane tools, failed under CI."""
from __future__ import annotations

import pytest

from tests.support.needs import require


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None:
        require(f"{item.nodeid} (marked root)")
