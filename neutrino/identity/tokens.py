"""Signed tokens: any replica validates any token without a database read per request.

A token is ``<payload>.<signature>``, both unpadded urlsafe base64. The payload is a compact
JSON array (see `_FIELDS`); the signature is HMAC-SHA256 of the payload text under the secret
from `signing_keys`. A genuine, unexpired token is still refused when a revocation event
matches it (`revocations`: a user deleted or disabled, a role removed, DELETE /v3/auth/tokens).
"""
from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from neutrino.db.session import Database
from neutrino.identity.context import RequestContext
from neutrino.identity.errors import TokenExpired, TokenInvalid, TokenRevoked
from neutrino.identity.revocation_rules import TokenFacts
from neutrino.identity.revocations import Revocations
from neutrino.identity.signing_keys import load_or_create_secret

FORMAT_VERSION = 1
# Payload array layout, position by position; bump FORMAT_VERSION when it changes.
_FIELDS = ("version", "user_id", "user_name", "project_id", "project_name", "roles",
           "issued_at", "expires_at", "audit_id", "methods")
_SEPARATOR = "."


@dataclass(frozen=True)
class TokenInfo:
    """Everything a token says, for the identity API's token documents."""

    context: RequestContext
    issued_at: float
    expires_at: float
    audit_id: str
    methods: tuple[str, ...]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_CACHE_SIZE = 10_000


class TokenService:
    """Issues, validates and revokes tokens; the secret is loaded once and cached."""

    def __init__(self, db: Database, expiration_seconds: int,
                 clock: Callable[[], float] = time.time,
                 revocations: Revocations | None = None) -> None:
        self._db = db
        self.expiration_seconds = expiration_seconds
        self._clock = clock
        self.revocations = revocations or Revocations(db, expiration_seconds, clock=clock)
        self._secret: bytes | None = None
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[TokenInfo, TokenFacts]] = {}

    def _key(self) -> bytes:
        secret = self._secret
        if secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = load_or_create_secret(self._db)
                secret = self._secret
        return secret

    def _sign(self, payload: str) -> str:
        return _b64encode(hmac.digest(self._key(), payload.encode("ascii"), "sha256"))

    def issue(self, context: RequestContext, *, methods: Sequence[str] = ("password",),
              expires_at: float | None = None) -> tuple[str, float]:
        """Return a new token for `context` and its expiry (epoch seconds).

        `expires_at` caps the lifetime: a token obtained by rescoping another token must not
        outlive the one it came from.
        """
        # Microseconds, not whole seconds: a token issued just after a revocation in the same
        # second must not look issued before it.
        issued_at = round(self._clock(), 6)
        expiry = issued_at + self.expiration_seconds
        if expires_at is not None:
            expiry = min(expiry, expires_at)
        body = [FORMAT_VERSION, context.user_id, context.user_name, context.project_id,
                context.project_name, list(context.roles), issued_at, expiry,
                _b64encode(secrets.token_bytes(12)), list(methods)]
        payload = _b64encode(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return payload + _SEPARATOR + self._sign(payload), expiry

    def _verify(self, token: str) -> list[Any]:
        if not token.isascii():
            raise TokenInvalid("The token contains characters a token never has.")
        payload, sep, signature = token.partition(_SEPARATOR)
        if not sep or not hmac.compare_digest(self._sign(payload), signature):
            raise TokenInvalid("The token signature does not match.")
        try:
            body = json.loads(_b64decode(payload))
        except ValueError as exc:
            # A correctly signed but undecodable payload means a bug or a foreign format.
            raise TokenInvalid("The token payload cannot be decoded.") from exc
        if not isinstance(body, list) or len(body) != len(_FIELDS) or body[0] != FORMAT_VERSION:
            raise TokenInvalid("The token format is not supported.")
        if self._clock() >= body[7]:
            raise TokenExpired("The token has expired.")
        return body

    def _claims(self, token: str) -> tuple[TokenInfo, TokenFacts]:
        cached = self._verified.get(token)
        if cached is not None:
            if self._clock() >= cached[0].expires_at:
                raise TokenExpired("The token has expired.")
            return cached
        body = self._verify(token)
        info = TokenInfo(RequestContext(body[1], body[2], body[3], body[4], tuple(body[5])),
                         body[6], body[7], body[8], tuple(body[9]))
        claims = (info, TokenFacts(body[1], body[3], body[8], body[6]))
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        # Agents send the same token thousands of times: skip the HMAC on repeats.
        self._verified[token] = claims
        return claims

    def inspect(self, token: str) -> TokenInfo:
        """Everything `token` says; raise TokenInvalid, TokenExpired or TokenRevoked."""
        info, facts = self._claims(token)
        # Checked on every use, not cached with the token: a revocation must hold at once.
        if self.revocations.is_revoked(facts):
            raise TokenRevoked("The token has been revoked.")
        return info

    def validate(self, token: str) -> RequestContext:
        """Return who `token` speaks for; raise TokenInvalid, TokenExpired or TokenRevoked."""
        return self.inspect(token).context

    def revoke(self, token: str) -> TokenInfo:
        """Revoke one token (DELETE /v3/auth/tokens); return what it said."""
        info = self.inspect(token)
        self.revocations.revoke("token revoked", audit_id=info.audit_id)
        return info
