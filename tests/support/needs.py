"""The one rule for a test that needs what a machine may lack (root, a tool, a database, the
broker): on a developer machine it skips with a loud reason; under `CI` it fails, so that a
green CI run means the tests ran."""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import NoReturn

import pytest

# What the `root` marker stands for (pyproject.toml): namespaces, veths, dnsmasq, udhcpc.
ROOT_TOOLS = ("/usr/sbin/udhcpc", "dnsmasq", "ip")


def not_run(reason: str) -> NoReturn:
    """Skip loudly, or fail when the `CI` environment variable is set."""
    message = f"!!! NOT RUN: {reason} !!!"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run it)", pytrace=False)
    pytest.skip(message)


def unreachable(what: str, exc: Exception) -> NoReturn:
    """A service the test needs does not answer (a database, the broker)."""
    not_run(f"{what} is not reachable ({exc}); start it (see DEVELOPERS.md)")


def missing(tools: Sequence[str] = (), *, root: bool = True) -> list[str]:
    """What of root and `tools` this process lacks ("root", then each missing tool)."""
    lacking = ["root"] if root and os.geteuid() != 0 else []
    return lacking + [tool for tool in tools if not shutil.which(tool)]


def require(what: str, tools: Sequence[str] = ROOT_TOOLS, *, root: bool = True) -> None:
    """Go on only with root (unless `root` is False) and every one of `tools`."""
    lacking = missing(tools, root=root)
    if lacking:
        not_run(f"{what} needs {', '.join(lacking)}")
