"""What can go wrong in identity: one exception type per problem, mapped to HTTP in the API."""
from __future__ import annotations


class IdentityError(Exception):
    """Base of every identity failure."""


class AuthFailed(IdentityError):
    """Wrong user name, user id or password; deliberately the same error for each."""


class AccountLocked(AuthFailed):
    """Too many wrong passwords in a row ([security_compliance] lockout_failure_attempts)."""


class NotAuthorizedForProject(IdentityError):
    """The credentials are good but the user holds no role on the requested project."""


class TokenInvalid(IdentityError):
    """The token is malformed, forged or tampered with."""


class TokenExpired(TokenInvalid):
    """The token was genuine but its lifetime is over."""


class TokenRevoked(TokenInvalid):
    """The token was genuine but has been revoked (its user, project or role went away)."""


class NotFound(IdentityError):
    """A user, project or role named in an administrative call does not exist."""


class AlreadyExists(IdentityError):
    """A user, project or role with that name already exists."""


class MalformedAuthRequest(IdentityError):
    """An authentication request body lacks a field or has one of the wrong type."""


class UnsupportedAuth(IdentityError):
    """An auth method or scope that Neutrino does not offer (domain or system scope, TOTP...)."""
