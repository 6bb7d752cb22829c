from __future__ import annotations

import base64
import json

import pytest

from neutrino.db.session import Database
from neutrino.identity.context import RequestContext
from neutrino.identity.errors import TokenExpired, TokenInvalid
from neutrino.identity.tokens import TokenService

from .fake_clock import FakeClock

ALICE = RequestContext("u1", "alice", "p1", "demo", ("member", "service"))


def test_issued_token_validates_to_the_same_context(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    token, expires_at = tokens.issue(ALICE)
    assert expires_at == clock.now + 3600
    assert tokens.validate(token) == ALICE


def test_token_expires_after_its_lifetime(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 60, clock=clock)
    token, _ = tokens.issue(ALICE)
    clock.advance(59)
    assert tokens.validate(token) == ALICE
    clock.advance(1)
    with pytest.raises(TokenExpired):
        tokens.validate(token)


def test_expiry_cap_shortens_lifetime(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    _, expires_at = tokens.issue(ALICE, expires_at=clock.now + 10)
    assert expires_at == clock.now + 10


def test_another_replica_validates_the_token(db: Database, clock: FakeClock) -> None:
    token, _ = TokenService(db, 3600, clock=clock).issue(ALICE)
    assert TokenService(db, 3600, clock=clock).validate(token) == ALICE


def test_token_from_another_database_is_refused(tmp_path: object, db: Database,
                                                clock: FakeClock) -> None:
    from neutrino.db.models import Base
    other = Database(f"sqlite:///{tmp_path}/other.db")
    Base.metadata.create_all(other.engine)
    token, _ = TokenService(other, 3600, clock=clock).issue(ALICE)
    with pytest.raises(TokenInvalid):
        TokenService(db, 3600, clock=clock).validate(token)
    other.dispose()


def _forge(token: str, change: dict[int, object]) -> str:
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for index, value in change.items():
        body[index] = value
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + signature


def test_tampered_roles_are_refused(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    token, _ = tokens.issue(ALICE)
    with pytest.raises(TokenInvalid):
        tokens.validate(_forge(token, {5: ["admin"]}))


def test_tampered_expiry_is_refused(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 60, clock=clock)
    token, _ = tokens.issue(ALICE)
    clock.advance(120)
    with pytest.raises(TokenInvalid):
        tokens.validate(_forge(token, {7: clock.now + 1000}))


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.def", "a.b.c", "ünïcode.x",
                                     "W10.xyz", "x" * 5000])
def test_garbage_is_refused(db: Database, clock: FakeClock, garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        TokenService(db, 3600, clock=clock).validate(garbage)


def test_flipped_signature_character_is_refused(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    token, _ = tokens.issue(ALICE)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(TokenInvalid):
        tokens.validate(flipped)


def test_inspect_reports_times_methods_and_audit_id(db: Database, clock: FakeClock) -> None:
    tokens = TokenService(db, 3600, clock=clock)
    first, _ = tokens.issue(ALICE, methods=("token",))
    second, _ = tokens.issue(ALICE)
    info = tokens.inspect(first)
    assert (info.issued_at, info.expires_at) == (clock.now, clock.now + 3600)
    assert info.methods == ("token",)
    assert info.audit_id != tokens.inspect(second).audit_id


def test_token_is_header_and_url_safe(db: Database, clock: FakeClock) -> None:
    token, _ = TokenService(db, 3600, clock=clock).issue(
        RequestContext("u", "ünïcödé user", "p", "prøject", ("admin",)))
    assert token.isascii()
    assert set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_replicas_starting_together_agree_on_one_secret(db: Database, clock: FakeClock) -> None:
    import threading

    services = [TokenService(db, 3600, clock=clock) for _ in range(8)]
    issued: list[str] = []
    threads = [threading.Thread(target=lambda s=s: issued.append(s.issue(ALICE)[0]))
               for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for service in services:
        for token in issued:
            assert service.validate(token) == ALICE
