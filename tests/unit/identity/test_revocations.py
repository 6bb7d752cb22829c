from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, text

from neutrino.db.models import RevocationEvent
from neutrino.db.session import Database
from neutrino.identity.revocation_rules import TokenFacts
from neutrino.identity.revocations import Revocations

from .fake_clock import FakeClock

LIFETIME = 3600.0


def _replica(db: Database, clock: FakeClock, monotonic: FakeClock,
             cache_seconds: float = 1.0) -> Revocations:
    return Revocations(db, LIFETIME, cache_seconds, clock=clock, monotonic=monotonic)


def _alice(clock: FakeClock, *, age: float = 10.0) -> TokenFacts:
    return TokenFacts("alice", "demo", "audit", issued_at=clock.now - age)


def test_other_replica_sees_a_revocation_once_its_cache_turns_over(
        db: Database, clock: FakeClock) -> None:
    monotonic = FakeClock(0.0)
    writer, reader = _replica(db, clock, monotonic), _replica(db, clock, monotonic)
    assert not reader.is_revoked(_alice(clock))  # reader's copy is now fresh and empty
    writer.revoke("user deleted", user_id="alice")
    assert writer.is_revoked(_alice(clock))  # the writer itself: at once
    monotonic.advance(0.999)
    assert not reader.is_revoked(_alice(clock))  # within the bound, the old copy may answer
    monotonic.advance(0.001)
    assert reader.is_revoked(_alice(clock))  # at the bound, never later


def test_zero_cache_time_reads_on_every_check(db: Database, clock: FakeClock) -> None:
    monotonic = FakeClock(0.0)
    writer, reader = _replica(db, clock, monotonic), _replica(db, clock, monotonic, 0)
    assert not reader.is_revoked(_alice(clock))
    writer.revoke("role removed", user_id="alice", project_id="demo")
    assert reader.is_revoked(_alice(clock))


def test_tokens_issued_after_the_revocation_stay_good(db: Database, clock: FakeClock) -> None:
    revocations = _replica(db, clock, FakeClock(0.0))
    revocations.revoke("user disabled", user_id="alice")
    clock.advance(0.000002)
    assert not revocations.is_revoked(_alice(clock, age=0.000001))
    assert revocations.is_revoked(_alice(clock, age=0.000003))


def test_events_older_than_a_token_lifetime_are_pruned_and_ignored(
        db: Database, clock: FakeClock) -> None:
    revocations = _replica(db, clock, FakeClock(0.0), cache_seconds=0)
    revocations.revoke("user deleted", user_id="alice")
    clock.advance(LIFETIME + 1)
    # Every token alice held then has expired; the event no longer matters.
    assert not revocations.is_revoked(TokenFacts("alice", "", "a", issued_at=0.0))
    revocations.revoke("user deleted", user_id="bob")
    with db.session() as session:
        users = session.scalars(select(RevocationEvent.user_id)).all()
        assert users == ["bob"]
        assert session.scalar(select(func.count()).select_from(RevocationEvent)) == 1


def test_unreadable_database_keeps_the_last_copy(db: Database, clock: FakeClock,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    monotonic = FakeClock(0.0)
    revocations = _replica(db, clock, monotonic)
    revocations.revoke("user deleted", user_id="alice")
    assert revocations.is_revoked(_alice(clock))
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE revocation_generation"))
    monotonic.advance(5)
    with caplog.at_level(logging.ERROR, logger="neutrino.identity.revocations"):
        assert revocations.is_revoked(_alice(clock))
        monotonic.advance(5)
        assert revocations.is_revoked(_alice(clock))
    errors = [r for r in caplog.records if "cannot read token revocations" in r.getMessage()]
    assert len(errors) == 1  # once per outage, not once per request
