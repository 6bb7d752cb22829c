"""What the agent history costs a server: the liveness look every process makes twice a
second (with N agents, none changing), a page of the newest entries with and without a
filter, and the retention pass, over a history of R entries.

Run: .venv/bin/python bench/history_bench.py [--db sqlite postgresql mariadb]
        [--agents 1000] [--rows 200000]
Figures, not assertions.
"""
from __future__ import annotations

import argparse
import os
import sys
import uuid
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import database, median_ms, p, timed
from neutrino.config import load_server_settings
from neutrino.db import migrate
from neutrino.db.models import Agent, AgentHistory
from neutrino.db.session import Database
from neutrino.services.clock import utcnow
from neutrino.services.history import BINDING_KINDS, History, HistoryQuery


def fill(db: Database, agents: int, rows: int) -> tuple[list[str], list[str]]:
    now = utcnow()
    agent_ids = [str(uuid.uuid4()) for _ in range(agents)]
    network_ids = [str(uuid.uuid4()) for _ in range(max(1, rows // 20))]
    with db.engine.begin() as conn:
        conn.execute(Agent.__table__.insert(), [dict(
            id=a, agent_type="DHCP agent", binary="neutrino-dhcp-agent", topic="dhcp_agent",
            host=f"host-{n}", availability_zone="nova", admin_state_up=True, description="",
            configurations={}, resource_versions={}, load=0, created_at=now, started_at=now,
            heartbeat_timestamp=now + timedelta(hours=1), history_dead=False)
            for n, a in enumerate(agent_ids)])
        batch = 10000
        for start in range(0, rows, batch):
            conn.execute(AgentHistory.__table__.insert(), [dict(
                created_at=now - timedelta(seconds=rows - n), kind=BINDING_KINDS[n % 7],
                actor="server", actor_id=None, reason="bench",
                network_id=network_ids[n % len(network_ids)], agent_id=None,
                from_agent_id=agent_ids[n % agents], to_agent_id=agent_ids[(n + 1) % agents],
                host=f"host-{n % agents}") for n in range(start, min(rows, start + batch))])
    return agent_ids, network_ids


def bench(kind: str, agents: int, rows: int) -> None:
    with database(kind) as url:
        db = Database(url)
        try:
            migrate.upgrade(db.engine)
            agent_ids, network_ids = fill(db, agents, rows)
            settings = load_server_settings([], overrides={"db_connection": url})
            history = History(db, settings, lambda: utcnow() - timedelta(hours=1))
            watch = timed(history.watch_liveness, 200)
            newest = timed(lambda: history.read(HistoryQuery(limit=50)), 200)
            by_network = timed(lambda: history.read(HistoryQuery(
                network_ids=(network_ids[7],), limit=50)), 200)
            by_agent = timed(lambda: history.read(HistoryQuery(
                agent_ids=(agent_ids[3],), limit=50)), 200)
            prune = timed(history.prune, 20)
        finally:
            db.dispose()
    print(f"{kind:<11} {agents} agents, {rows} entries: liveness look "
          f"{median_ms(watch):.2f} ms (p95 {p(watch, .95):.2f}); page of 50 newest "
          f"{median_ms(newest):.2f} ms, of a network {median_ms(by_network):.2f} ms, "
          f"of an agent {median_ms(by_agent):.2f} ms; retention pass "
          f"{median_ms(prune):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", default=["sqlite"],
                        choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=200000)
    args = parser.parse_args()
    for kind in args.db:
        bench(kind, args.agents, args.rows)


if __name__ == "__main__":
    main()
