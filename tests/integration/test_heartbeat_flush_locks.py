"""Two workers' heartbeat flushes over overlapping agents, at the same moment, many times, on
the databases with row locks: no deadlock (no retry logged) and every heartbeat stored."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select

from neutrino.agent_protocol.messages import ReportResult
from neutrino.db import migrate
from neutrino.db.models import Agent
from neutrino.db.session import Database
from neutrino.services.clock import utcnow
from neutrino.services.heartbeats import HeartbeatBuffer
from tests.support.agents import dhcp_state
from tests.support.databases import fresh_database

AGENTS = 60
ROUNDS = 25
DOWN = 3600


@pytest.fixture(scope="module", params=("postgresql", "mariadb"))
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    with fresh_database(request.param, str(tmp_path_factory.mktemp("db"))) as url:
        yield url


@pytest.fixture(scope="module")
def workers(db_url: str) -> Iterator[tuple[Database, Database]]:
    """Two Database objects: two workers' own pools, as two API processes have."""
    first, second = Database(db_url), Database(db_url)
    migrate.upgrade(first.engine)
    yield first, second
    first.dispose()
    second.dispose()


def test_overlapping_flushes_neither_deadlock_nor_lose_heartbeats(
        workers: tuple[Database, Database], caplog: pytest.LogCaptureFixture) -> None:
    first, second = workers
    now = utcnow()
    states = [dhcp_state(f"hb-{uuid.uuid4().hex[:8]}") for _ in range(AGENTS)]
    ids = [str(uuid.uuid4()) for _ in states]
    first.run(lambda s: s.add_all([
        Agent(id=agent_id, agent_type=st.agent_type, binary=st.binary, topic=st.topic,
              host=st.host, availability_zone=st.availability_zone, admin_state_up=True,
              description="", configurations=st.configurations, resource_versions={}, load=0,
              created_at=now, started_at=now, heartbeat_timestamp=now)
        for agent_id, st in zip(ids, states, strict=True)]))
    buffers = [HeartbeatBuffer(first, DOWN), HeartbeatBuffer(second, DOWN)]
    for buffer in buffers:
        for agent_id, st in zip(ids, states, strict=True):
            buffer.remember(st, ReportResult(agent_id=agent_id, admin_state_up=True), now)
    # Each worker hears about two thirds of the agents, in opposite orders: the middle
    # third is flushed by both, which is where arrival-order locking deadlocked.
    heard = [list(range(0, 2 * AGENTS // 3)), list(range(AGENTS - 1, AGENTS // 3 - 1, -1))]
    caplog.set_level(logging.WARNING, logger="neutrino.db.session")
    failures: list[BaseException] = []
    for round_no in range(ROUNDS):
        started = utcnow()
        for buffer, order in zip(buffers, heard, strict=True):
            for i in order:
                st = dhcp_state(states[i].host, networks=round_no)
                assert buffer.offer(st, utcnow()) is not None
        gate = threading.Barrier(2)

        def flush(buffer: HeartbeatBuffer, gate: threading.Barrier) -> None:
            try:
                gate.wait(timeout=30)  # both flushes start together
                buffer.flush()
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)

        threads = [threading.Thread(target=flush, args=(b, gate)) for b in buffers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a flush hung"
        assert failures == []
        stored: dict[str, tuple[datetime, dict[str, int]]] = {
            row.id: (row.heartbeat_timestamp, row.configurations)
            for row in first.run(lambda s: s.execute(
                select(Agent.id, Agent.heartbeat_timestamp, Agent.configurations)
                .where(Agent.id.in_(ids))).all())}
        for agent_id in ids:
            beat, configurations = stored[agent_id]
            assert beat >= started and configurations["networks"] == round_no, agent_id
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    print(f"{ROUNDS} rounds x 2 overlapping flushes of {2 * AGENTS // 3} agents: "
          f"{len(retried)} retries logged")
    assert retried == []
