"""Who is calling: X-Auth-Token -> RequestContext, and the policy checks built on it."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from neutrino.errors import NotAuthenticated, PolicyNotAuthorized
from neutrino.identity.context import ADMIN_CONTEXT, RequestContext
from neutrino.identity.errors import TokenInvalid
from neutrino.services.history import Actor


class Authenticator:
    """Validates tokens with the identity token service (or lets all in under noauth)."""

    def __init__(self, validate: Callable[[str], RequestContext] | None) -> None:
        self._validate = validate

    async def __call__(self, request: Request) -> RequestContext:
        if self._validate is None:
            return ADMIN_CONTEXT
        token = request.headers.get("x-auth-token")
        if not token:
            raise NotAuthenticated("Authentication required: send a token in X-Auth-Token "
                                   "(get one from POST /v3/auth/tokens).")
        try:
            return self._validate(token)
        except TokenInvalid as exc:
            raise NotAuthenticated(f"The token is not valid: {exc}") from None


def require_admin(ctx: RequestContext, action: str) -> None:
    if not ctx.is_admin:
        raise PolicyNotAuthorized(f"rule:{action} is disallowed by policy: it requires the "
                                  "admin role.")


def actor(ctx: RequestContext) -> Actor:
    """The caller as the agent history names who made a change."""
    return Actor(ctx.user_name, ctx.user_id or None)


def require_agent(ctx: RequestContext) -> None:
    if not ctx.is_agent:
        raise PolicyNotAuthorized("Only agents (users with the service or admin role) may use "
                                  "the agent endpoints.")


def scope(ctx: RequestContext) -> str | None:
    """The project a caller is limited to; None for admins, who see everything."""
    return None if ctx.is_admin else ctx.project_id


def check_owner(ctx: RequestContext, attrs: dict[str, Any], resource: str) -> None:
    owner = attrs.get("project_id")
    if owner is not None and not ctx.is_admin and owner != ctx.project_id:
        raise PolicyNotAuthorized(f"rule:create_{resource}:project_id is disallowed by "
                                  "policy: you may only create resources in your own project.")
