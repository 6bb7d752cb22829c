"""Stateless signed tokens: any replica validates any token with no database access.

A token is ``<payload>.<signature>``, both unpadded urlsafe base64. The payload is a compact
JSON array (see `_FIELDS`); the signature is HMAC-SHA256 of the payload text under the secret
from `signing_keys`. Tokens cannot be revoked before they expire; keep lifetimes short.
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
from neutrino.identity.errors import TokenExpired, TokenInvalid
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
    """Issues and validates tokens; the secret is loaded once and cached."""

    def __init__(self, db: Database, expiration_seconds: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.expiration_seconds = expiration_seconds
        self._clock = clock
        self._secret: bytes | None = None
        self._lock = threading.Lock()
        self._validated: dict[str, tuple[RequestContext, float]] = {}

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
        issued_at = float(int(self._clock()))
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

    def validate(self, token: str) -> RequestContext:
        """Return who `token` speaks for; raise TokenInvalid or TokenExpired."""
        cached = self._validated.get(token)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        body = self._verify(token)
        context = RequestContext(body[1], body[2], body[3], body[4], tuple(body[5]))
        if len(self._validated) >= _CACHE_SIZE:
            self._validated.clear()
        # Agents send the same token thousands of times: skip the HMAC on repeats.
        self._validated[token] = (context, float(body[7]))
        return context

    def inspect(self, token: str) -> TokenInfo:
        """Like validate, with the token's times, audit id and auth methods."""
        body = self._verify(token)
        context = RequestContext(body[1], body[2], body[3], body[4], tuple(body[5]))
        return TokenInfo(context, body[6], body[7], body[8], tuple(body[9]))
