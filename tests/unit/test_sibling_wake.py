"""API workers wake each other's long-polls through datagram sockets in one directory."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from neutrino.agent_protocol.sibling_wake import SUFFIX, SiblingWake


def test_a_commit_in_one_worker_wakes_the_others_but_not_itself(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        me, other = SiblingWake(str(tmp_path)), SiblingWake(str(tmp_path))
        # Two workers of one run have two pids; here one process plays both.
        other.path = os.path.join(str(tmp_path), f"other{SUFFIX}")
        mine, theirs = asyncio.Event(), asyncio.Event()
        me.listen(loop, mine.set)
        other.listen(loop, theirs.set)
        try:
            me.tell()
            await asyncio.wait_for(theirs.wait(), 5)
            await asyncio.sleep(0)  # a datagram to ourselves would be readable by now
            return theirs.is_set(), mine.is_set()
        finally:
            me.close(loop)
            other.close(loop)

    woke_other, woke_self = asyncio.run(scenario())
    assert woke_other
    assert not woke_self
    assert not list(tmp_path.iterdir()), "closing removes each worker's socket"


def test_telling_skips_workers_gone_and_stray_files(tmp_path: Path) -> None:
    (tmp_path / f"12345{SUFFIX}").write_text("")  # not a socket: a worker long gone
    (tmp_path / "notes.txt").write_text("")
    SiblingWake(str(tmp_path)).tell()  # must not raise
