"""Who may look at or revoke someone's token: Keystone's default token policies, pure.

`token_subject` is Keystone's rule "the caller is the token's user" (any of that user's
tokens, not only the one in hand). Neutrino has no system scope: its `admin` role stands for
Keystone's system administrator and reader.
"""
from __future__ import annotations

from neutrino.identity.context import RequestContext


def _token_subject(caller: RequestContext, subject: RequestContext) -> bool:
    return caller.user_id == subject.user_id


def may_check_token(caller: RequestContext, subject: RequestContext) -> bool:
    """identity:check_token (HEAD /v3/auth/tokens): an administrator or the token's user."""
    return caller.is_admin or _token_subject(caller, subject)


def may_validate_token(caller: RequestContext, subject: RequestContext) -> bool:
    """identity:validate_token (GET /v3/auth/tokens): also the service role.

    Keystone lets services read their callers' token documents (keystonemiddleware does).
    """
    return caller.is_admin or "service" in caller.roles or _token_subject(caller, subject)


def may_revoke_token(caller: RequestContext, subject: RequestContext) -> bool:
    """identity:revoke_token (DELETE /v3/auth/tokens): an administrator or the token's user."""
    return caller.is_admin or _token_subject(caller, subject)
