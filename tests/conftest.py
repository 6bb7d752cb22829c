"""Suite-wide collection rule: only the pure unit tests run beside the rest.

dev/test runs pytest with two xdist workers and `--dist loadgroup`. Everything outside
tests/unit shares one group, so it runs on one worker in the order it always had: those tests
share the machine's databases and broker, stop and start them, and time real processes.
The unit tests (no I/O beyond temporary files) go to the other worker meanwhile.
"""
from __future__ import annotations

from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent / "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if UNIT not in item.path.resolve().parents:
            item.add_marker(pytest.mark.xdist_group("serial"))
