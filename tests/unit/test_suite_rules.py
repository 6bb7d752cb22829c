"""The test suite's own rules (DEVELOPERS.md, "Tests"), checked on its source with `ast`.

A skip goes through tests/support/needs.py, which fails under CI; a copy of pytest.skip
elsewhere skips in CI too and turns a run that did not test something green. Waiting for a
condition is tests/support/waiting.py; a second polling helper drifts from it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
SKIP_RULE = TESTS / "support" / "needs.py"
WAITING = TESTS / "support" / "waiting.py"
# pytest's ways of not running a test: pytest.skip(...), pytest.importorskip(...),
# @pytest.mark.skip / skipif, pytest.xfail (a skip that reports as expected).
SKIPS = {"skip", "skipif", "importorskip", "xfail"}
WAIT_HELPERS = {"wait_until", "held_at", "wait_for"}


def _attribute_chain(node: ast.AST) -> list[str]:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names[::-1]


def skips_in(source: str) -> list[int]:
    """Lines that skip a test by pytest's own means (pytest.skip, mark.skipif, …)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            chain = _attribute_chain(node)
            if chain and chain[0] == "pytest" and chain[-1] in SKIPS:
                found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "pytest" and any(
                alias.name in SKIPS for alias in node.names):
            found.append(node.lineno)
    return found


def wait_helpers_in(source: str) -> list[str]:
    """Module-level functions named like the waiting helpers (a copy of them)."""
    return [node.name for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and node.name in WAIT_HELPERS]


def _sources() -> list[tuple[Path, str]]:
    return [(path, path.read_text()) for path in sorted(TESTS.rglob("*.py"))]


def test_every_skip_goes_through_the_skip_rule() -> None:
    found = [f"{path.relative_to(TESTS)}:{line}" for path, source in _sources()
             if path != SKIP_RULE and path != Path(__file__).resolve()
             for line in skips_in(source)]
    assert found == [], "skip with tests.support.needs (require, not_run): " + ", ".join(found)


def test_the_waiting_helpers_are_defined_once() -> None:
    found = [f"{path.relative_to(TESTS)}: {name}" for path, source in _sources()
             if path != WAITING for name in wait_helpers_in(source)]
    assert found == [], "use tests.support.waiting: " + ", ".join(found)


@pytest.mark.parametrize("source", [
    "import pytest\npytest.skip('no root')\n",
    "import pytest\n@pytest.mark.skipif(True, reason='x')\ndef test_x():\n    pass\n",
    "import pytest\nyaml = pytest.importorskip('yaml')\n",
    "from pytest import skip\n",
])
def test_the_check_finds_a_skip_of_its_own(source: str) -> None:
    assert skips_in(source)


def test_the_check_leaves_the_skip_rule_and_other_marks_alone() -> None:
    source = ("import pytest\nfrom tests.support.needs import not_run\n"
              "pytestmark = pytest.mark.root\nnot_run('no broker')\n")
    assert skips_in(source) == []


def test_the_check_finds_a_copy_of_a_waiting_helper() -> None:
    source = ("def wait_for(condition, deadline):\n    while not condition():\n        pass\n"
              "class Watch:\n    def wait_for(self):\n        pass\n")
    assert wait_helpers_in(source) == ["wait_for"]
