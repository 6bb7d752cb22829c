"""The lab keeps no copies of the agent's namespace and pid helpers."""
from __future__ import annotations

import re
from pathlib import Path

LAB = Path(__file__).resolve().parents[2] / "neutrino" / "lab"
# What a copy reads: pid files' processes in /proc, namespaces' mount points in /run/netns.
COPY = re.compile(r"/proc/|/run/netns|\bnetns\W+(add|delete)\b")


def test_the_lab_reads_proc_and_run_netns_only_through_the_agents_helpers() -> None:
    found = {f"{path.name}:{number}": line.strip()
             for path in sorted(LAB.glob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if COPY.search(line)}
    assert found == {}, "use neutrino.agent.namespaces and neutrino.agent.pids"


def test_the_check_finds_the_copies_it_replaced() -> None:
    for line in ('Path(f"/proc/{pid}/cmdline").read_bytes()', 'NETNS_DIR = "/run/netns"',
                 'ip("netns", "add", host.namespace)', 'ip("netns", "delete", name)'):
        assert COPY.search(line), line
