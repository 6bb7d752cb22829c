"""Each change that ends access revokes exactly the tokens it should, and says what is wrong."""
from __future__ import annotations

import pytest

from neutrino.db.session import Database
from neutrino.identity.errors import AuthFailed, NotFound, TokenRevoked
from neutrino.identity.lifecycle import IdentityLifecycle
from neutrino.identity.revocations import Revocations
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService

from .fake_clock import FakeClock


@pytest.fixture
def store(db: Database) -> IdentityStore:
    identity = IdentityStore(db)
    identity.bootstrap("admin", "adminpassword")
    identity.create_project("demo")
    identity.create_user("alice", "pw", "demo", "member")
    identity.assign_role("alice", "demo", "service")
    identity.assign_role("alice", "admin", "member")
    identity.create_user("bob", "pw", "demo", "member")
    return identity


@pytest.fixture
def revocations(db: Database, clock: FakeClock) -> Revocations:
    return Revocations(db, 3600, clock=clock)


@pytest.fixture
def lifecycle(db: Database, revocations: Revocations) -> IdentityLifecycle:
    return IdentityLifecycle(db, revocations)


@pytest.fixture
def tokens(db: Database, clock: FakeClock, revocations: Revocations) -> TokenService:
    return TokenService(db, 3600, clock=clock, revocations=revocations)


def _token(store: IdentityStore, tokens: TokenService, user: str, project: str) -> str:
    return _token_with(store, tokens, user, "pw", project)


def _token_with(store: IdentityStore, tokens: TokenService, user: str, password: str,
                project: str) -> str:
    return tokens.issue(store.authenticate(user, password, project))[0]


def test_deleting_a_user_revokes_its_tokens_and_removes_it(
        store: IdentityStore, tokens: TokenService, lifecycle: IdentityLifecycle,
        clock: FakeClock) -> None:
    alice = _token(store, tokens, "alice", "demo")
    bob = _token(store, tokens, "bob", "demo")
    clock.advance(1)
    info = lifecycle.delete_user("alice")
    assert info.name == "alice"
    with pytest.raises(TokenRevoked):
        tokens.validate(alice)
    with pytest.raises(TokenRevoked):
        tokens.inspect(alice)
    assert tokens.validate(bob).user_name == "bob"
    with pytest.raises(NotFound):
        store.get_user("alice")
    assert [p.name for p in store.projects_of(info.id)] == []


def test_disabling_revokes_and_enabling_does_not_revive_old_tokens(
        store: IdentityStore, tokens: TokenService, lifecycle: IdentityLifecycle,
        clock: FakeClock) -> None:
    old = _token(store, tokens, "alice", "demo")
    clock.advance(1)
    assert not lifecycle.set_user_enabled("alice", False).enabled
    with pytest.raises(TokenRevoked):
        tokens.validate(old)
    with pytest.raises(AuthFailed):
        store.authenticate("alice", "pw", "demo")
    clock.advance(1)
    assert lifecycle.set_user_enabled("alice", True).enabled
    with pytest.raises(TokenRevoked):
        tokens.validate(old)
    assert tokens.validate(_token(store, tokens, "alice", "demo")).user_name == "alice"


def test_changing_the_password_revokes_the_users_tokens(
        store: IdentityStore, tokens: TokenService, lifecycle: IdentityLifecycle,
        clock: FakeClock) -> None:
    old = _token(store, tokens, "alice", "demo")
    clock.advance(1)
    lifecycle.set_password("alice", "new")
    with pytest.raises(TokenRevoked):
        tokens.validate(old)
    with pytest.raises(AuthFailed):
        store.authenticate("alice", "pw", "demo")
    clock.advance(1)
    assert tokens.validate(_token_with(store, tokens, "alice", "new", "demo")).user_name == "alice"


def test_removing_a_role_revokes_the_tokens_on_that_project_only(
        store: IdentityStore, tokens: TokenService, lifecycle: IdentityLifecycle,
        clock: FakeClock) -> None:
    on_demo = _token(store, tokens, "alice", "demo")
    on_admin = _token(store, tokens, "alice", "admin")
    clock.advance(1)
    lifecycle.remove_role("alice", "demo", "service")
    with pytest.raises(TokenRevoked):
        tokens.validate(on_demo)
    assert tokens.validate(on_admin).project_name == "admin"
    clock.advance(1)
    # The remaining role is still there for a new token.
    assert tokens.validate(_token(store, tokens, "alice", "demo")).roles == ("member",)


def test_deleting_a_project_revokes_every_token_scoped_to_it(
        store: IdentityStore, tokens: TokenService, lifecycle: IdentityLifecycle,
        clock: FakeClock) -> None:
    alice_demo = _token(store, tokens, "alice", "demo")
    bob_demo = _token(store, tokens, "bob", "demo")
    alice_admin = _token(store, tokens, "alice", "admin")
    clock.advance(1)
    assert lifecycle.delete_project("demo").name == "demo"
    for token in (alice_demo, bob_demo):
        with pytest.raises(TokenRevoked):
            tokens.validate(token)
    assert tokens.validate(alice_admin).user_name == "alice"
    assert "demo" not in {p.name for p in store.list_projects()}


def test_revoking_one_token_leaves_the_users_others(
        store: IdentityStore, tokens: TokenService, clock: FakeClock) -> None:
    first = _token(store, tokens, "alice", "demo")
    second = _token(store, tokens, "alice", "demo")
    assert tokens.revoke(first).context.user_name == "alice"
    with pytest.raises(TokenRevoked):
        tokens.validate(first)
    assert tokens.validate(second).user_name == "alice"


@pytest.mark.parametrize("change,message", [
    (lambda lc: lc.delete_user("ghost"), "No user has the name or id ghost."),
    (lambda lc: lc.set_user_enabled("ghost", False), "No user has the name or id ghost."),
    (lambda lc: lc.set_password("ghost", "x"), "No user has the name or id ghost."),
    (lambda lc: lc.delete_project("nowhere"), "No project has the name or id nowhere."),
    (lambda lc: lc.remove_role("ghost", "demo", "member"), "No user has the name or id ghost."),
    (lambda lc: lc.remove_role("bob", "nowhere", "member"),
     "No project has the name or id nowhere."),
    (lambda lc: lc.remove_role("bob", "demo", "admin"),
     "User bob has no role admin on project demo."),
    (lambda lc: lc.remove_role("bob", "demo", "no-such-role"),
     "User bob has no role no-such-role on project demo."),
])
def test_unknown_names_are_reported(store: IdentityStore, lifecycle: IdentityLifecycle,
                                    change: object, message: str) -> None:
    with pytest.raises(NotFound) as raised:
        change(lifecycle)  # type: ignore[operator]
    assert str(raised.value) == message
