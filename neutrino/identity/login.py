"""Turn a parsed authentication request into a token: password check or token rescope."""
from __future__ import annotations

from neutrino.identity.auth_requests import AuthRequest, PasswordCredentials
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenInfo, TokenService


def log_in(request: AuthRequest, store: IdentityStore,
           tokens: TokenService) -> tuple[str, TokenInfo]:
    """Authenticate `request` and return the new token with what it says.

    Raises AuthFailed, NotAuthorizedForProject, TokenInvalid or TokenExpired.
    """
    credentials = request.credentials
    if isinstance(credentials, PasswordCredentials):
        context = store.authenticate(credentials.user, credentials.password, request.project,
                                     user_domain=credentials.user_domain,
                                     project_domain=request.project_domain)
        token, _ = tokens.issue(context, methods=("password",))
    else:
        # Rescoping: the new token keeps the old one's expiry, so a stolen token cannot be
        # kept alive forever by exchanging it for fresh ones.
        old = tokens.inspect(credentials.token)
        project = request.project
        if project is None and old.context.project_id:
            project = old.context.project_id
        context = store.scope(old.context.user_id, project,
                              project_domain=request.project_domain)
        token, _ = tokens.issue(context, methods=("token",), expires_at=old.expires_at)
    return token, tokens.inspect(token)
