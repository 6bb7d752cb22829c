"""Which tokens a set of revocation events revokes: Keystone's matching rule, pure.

An event names some of (user, project, audit id) and a time. A token is revoked when every
field the event names equals the token's, and the token was issued at or before that time.
So "user u" revokes all of u's tokens, "user u on project p" those scoped to p, "project p"
everybody's tokens on p, "audit id a" one token, and an event naming nothing revokes every
token issued before it. Tokens issued afterwards are untouched: a re-enabled user logs in
again and works.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

Key = tuple[str | None, str | None, str | None]


@dataclass(frozen=True)
class Revocation:
    issued_before: float  # epoch seconds
    user_id: str | None = None
    project_id: str | None = None
    audit_id: str | None = None

    @property
    def key(self) -> Key:
        return (self.user_id, self.project_id, self.audit_id)


@dataclass(frozen=True)
class TokenFacts:
    """What a token says that events can match on."""

    user_id: str
    project_id: str  # "" for an unscoped token: only events without a project match it
    audit_id: str
    issued_at: float


class RevocationIndex:
    """Events grouped by the fields they name: a check is 8 dictionary lookups, not a scan."""

    def __init__(self, events: Iterable[Revocation] = ()) -> None:
        # Per key, only the latest time matters: it revokes everything the earlier ones did.
        self._latest: dict[Key, float] = {}
        for event in events:
            known = self._latest.get(event.key)
            if known is None or event.issued_before > known:
                self._latest[event.key] = event.issued_before

    def __len__(self) -> int:
        return len(self._latest)

    def revokes(self, token: TokenFacts) -> bool:
        """True when some event matches `token`."""
        # Each event field is either the token's value or a wildcard (None).
        for key in itertools.product((token.user_id, None), (token.project_id or None, None),
                                     (token.audit_id, None)):
            issued_before = self._latest.get(key)
            if issued_before is not None and token.issued_at <= issued_before:
                return True
        return False
