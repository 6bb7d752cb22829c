from __future__ import annotations

import pytest

from neutrino.identity.revocation_rules import Revocation, RevocationIndex, TokenFacts

ALICE_ON_DEMO = TokenFacts("alice", "demo", "audit-1", issued_at=100.0)
ALICE_UNSCOPED = TokenFacts("alice", "", "audit-2", issued_at=100.0)


@pytest.mark.parametrize("event,token,revoked", [
    (Revocation(100.0, user_id="alice"), ALICE_ON_DEMO, True),
    (Revocation(100.0, user_id="alice"), ALICE_UNSCOPED, True),
    (Revocation(99.999999, user_id="alice"), ALICE_ON_DEMO, False),  # issued after the event
    (Revocation(200.0, user_id="bob"), ALICE_ON_DEMO, False),
    (Revocation(200.0, project_id="demo"), ALICE_ON_DEMO, True),
    (Revocation(200.0, project_id="demo"), ALICE_UNSCOPED, False),
    (Revocation(200.0, project_id="other"), ALICE_ON_DEMO, False),
    (Revocation(200.0, user_id="alice", project_id="demo"), ALICE_ON_DEMO, True),
    (Revocation(200.0, user_id="alice", project_id="other"), ALICE_ON_DEMO, False),
    (Revocation(200.0, user_id="bob", project_id="demo"), ALICE_ON_DEMO, False),
    (Revocation(200.0, user_id="alice", project_id="demo"), ALICE_UNSCOPED, False),
    (Revocation(200.0, audit_id="audit-1"), ALICE_ON_DEMO, True),
    (Revocation(200.0, audit_id="audit-1"), ALICE_UNSCOPED, False),
    (Revocation(200.0), ALICE_ON_DEMO, True),  # names nothing: every older token
    (Revocation(50.0), ALICE_ON_DEMO, False),
])
def test_event_revokes_matching_older_tokens(event: Revocation, token: TokenFacts,
                                             revoked: bool) -> None:
    assert RevocationIndex([event]).revokes(token) is revoked


def test_latest_event_per_key_wins_whatever_the_order() -> None:
    events = [Revocation(300.0, user_id="alice"), Revocation(50.0, user_id="alice")]
    later_token = TokenFacts("alice", "demo", "a", issued_at=250.0)
    assert RevocationIndex(events).revokes(later_token)
    assert RevocationIndex(reversed(events)).revokes(later_token)
    assert len(RevocationIndex(events)) == 1


def test_empty_index_revokes_nothing() -> None:
    assert not RevocationIndex().revokes(ALICE_ON_DEMO)
