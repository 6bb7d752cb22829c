from __future__ import annotations

import pytest

from neutrino.db.session import Database
from neutrino.identity.errors import AccountLocked, AuthFailed
from neutrino.identity.lifecycle import IdentityLifecycle
from neutrino.identity.lockout import LockoutPolicy, failures_after_a_wrong_password, is_locked
from neutrino.identity.revocations import Revocations
from neutrino.identity.store import IdentityStore

from .fake_clock import FakeClock

THREE_FOR_60 = LockoutPolicy(failure_attempts=3, duration=60)
THREE_FOREVER = LockoutPolicy(failure_attempts=3, duration=None)


@pytest.mark.parametrize("policy,failures,last,now,locked", [
    (LockoutPolicy(), 1000, 0.0, 1.0, False),  # off by default, as in Keystone
    (THREE_FOR_60, 2, 100.0, 100.0, False),
    (THREE_FOR_60, 3, 100.0, 100.0, True),
    (THREE_FOR_60, 3, 100.0, 159.9, True),
    (THREE_FOR_60, 3, 100.0, 160.0, False),
    (THREE_FOR_60, 7, 100.0, 120.0, True),
    (THREE_FOREVER, 3, 100.0, 1e9, True),
])
def test_is_locked(policy: LockoutPolicy, failures: int, last: float, now: float,
                   locked: bool) -> None:
    assert is_locked(policy, failures, last, now) is locked


@pytest.mark.parametrize("policy,failures,last,now,after", [
    (THREE_FOR_60, 0, None, 100.0, 1),
    (THREE_FOR_60, 2, 90.0, 100.0, 3),
    (THREE_FOR_60, 3, 100.0, 200.0, 1),  # the lockout ran out: a fresh count
    (THREE_FOREVER, 3, 100.0, 200.0, 4),
    (LockoutPolicy(), 5, 1.0, 2.0, 6),
])
def test_failures_after_a_wrong_password(policy: LockoutPolicy, failures: int,
                                         last: float | None, now: float, after: int) -> None:
    assert failures_after_a_wrong_password(policy, failures, last, now) == after


# ---- the store applies the rules, with the count in the database ---------------------------

def _store(db: Database, clock: FakeClock, policy: LockoutPolicy) -> IdentityStore:
    store = IdentityStore(db, lockout=policy, clock=clock)
    store.bootstrap("admin", "adminpassword")
    store.create_user("carol", "right", "admin", "member")
    return store


def _fail(store: IdentityStore, times: int) -> None:
    for _ in range(times):
        with pytest.raises(AuthFailed) as raised:
            store.authenticate("carol", "wrong", "admin")
        assert not isinstance(raised.value, AccountLocked)


def test_lockout_after_n_failures_and_unlock_after_the_duration(
        db: Database, clock: FakeClock) -> None:
    store = _store(db, clock, THREE_FOR_60)
    _fail(store, 3)
    with pytest.raises(AccountLocked) as raised:
        store.authenticate("carol", "right", "admin")
    assert "carol" not in str(raised.value) and "60 seconds" in str(raised.value)
    clock.advance(59.9)
    with pytest.raises(AccountLocked):
        store.authenticate("carol", "right", "admin")
    clock.advance(0.1)
    assert store.authenticate("carol", "right", "admin").user_name == "carol"
    _fail(store, 2)  # the good login reset the count
    assert store.authenticate("carol", "right", "admin").user_name == "carol"


def test_replicas_share_the_failure_count(db: Database, clock: FakeClock) -> None:
    first = _store(db, clock, THREE_FOR_60)
    second = IdentityStore(db, lockout=THREE_FOR_60, clock=clock)
    _fail(first, 2)
    _fail(second, 1)
    for replica in (first, second):
        with pytest.raises(AccountLocked):
            replica.authenticate("carol", "right", "admin")


def test_enabling_the_user_ends_a_lockout(db: Database, clock: FakeClock) -> None:
    store = _store(db, clock, THREE_FOREVER)
    _fail(store, 3)
    clock.advance(10**6)
    with pytest.raises(AccountLocked):
        store.authenticate("carol", "right", "admin")
    IdentityLifecycle(db, Revocations(db, 3600, clock=clock)).set_user_enabled("carol", True)
    assert store.authenticate("carol", "right", "admin").user_name == "carol"


def test_no_lockout_by_default_and_unknown_users_are_not_locked(
        db: Database, clock: FakeClock) -> None:
    store = _store(db, clock, LockoutPolicy())
    _fail(store, 5)
    assert store.authenticate("carol", "right", "admin").user_name == "carol"
    locking = IdentityStore(db, lockout=THREE_FOR_60, clock=clock)
    for _ in range(4):
        with pytest.raises(AuthFailed) as raised:
            locking.authenticate("ghost", "wrong", "admin")
        assert not isinstance(raised.value, AccountLocked)
