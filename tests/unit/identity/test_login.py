from __future__ import annotations

import pytest

from neutrino.db.session import Database
from neutrino.identity.auth_requests import AuthRequest, PasswordCredentials, TokenCredentials
from neutrino.identity.errors import NotAuthorizedForProject, TokenExpired
from neutrino.identity.login import log_in
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService

from .fake_clock import FakeClock


@pytest.fixture
def store(db: Database) -> IdentityStore:
    identity = IdentityStore(db)
    identity.bootstrap("admin", "pw")
    identity.create_project("demo")
    identity.assign_role("admin", "demo", "member")
    return identity


def test_password_login_issues_a_token(store: IdentityStore, db: Database,
                                       clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    token, info = log_in(AuthRequest(PasswordCredentials("admin", "pw"), "admin"), store, tokens)
    assert tokens.validate(token) == info.context
    assert info.methods == ("password",)


def test_rescope_keeps_the_original_expiry(store: IdentityStore, db: Database,
                                           clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    first, first_info = log_in(AuthRequest(PasswordCredentials("admin", "pw"), "admin"),
                               store, tokens)
    clock.advance(600)
    second, info = log_in(AuthRequest(TokenCredentials(first), "demo"), store, tokens)
    assert info.context.project_name == "demo"
    assert info.context.roles == ("member",)
    assert info.expires_at == first_info.expires_at
    clock.advance(3000)
    with pytest.raises(TokenExpired):
        tokens.validate(second)


def test_rescope_without_project_keeps_the_scope(store: IdentityStore, db: Database,
                                                 clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    first, _ = log_in(AuthRequest(PasswordCredentials("admin", "pw"), "demo"), store, tokens)
    _, info = log_in(AuthRequest(TokenCredentials(first)), store, tokens)
    assert info.context.project_name == "demo"


def test_rescope_to_foreign_project_is_refused(store: IdentityStore, db: Database,
                                               clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    store.create_project("secret")
    first, _ = log_in(AuthRequest(PasswordCredentials("admin", "pw"), "demo"), store, tokens)
    with pytest.raises(NotAuthorizedForProject):
        log_in(AuthRequest(TokenCredentials(first), "secret"), store, tokens)
