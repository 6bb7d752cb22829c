"""The Keystone-compatible identity HTTP API: v3 discovery and tokens, v2.0 tokens.

Only the HTTP shell lives here; parsing, checks and documents are in `neutrino.identity`.
The routes answer with Keystone's error body, not NeutronError, because Keystone clients
(keystoneauth) are the ones reading them.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from neutrino.api import openapi
from neutrino.api.body import MalformedJson, decode_json
from neutrino.identity import documents
from neutrino.identity.auth_requests import V2_AUTH_SCHEMA, V3_AUTH_SCHEMA, parse_v2, parse_v3
from neutrino.identity.context import RequestContext
from neutrino.identity.errors import (
    AuthFailed,
    IdentityError,
    MalformedAuthRequest,
    NotAuthorizedForProject,
    TokenInvalid,
    UnsupportedAuth,
)
from neutrino.identity.login import log_in
from neutrino.identity.store import IdentityStore
from neutrino.identity.token_policy import may_check_token, may_revoke_token, may_validate_token
from neutrino.identity.tokens import TokenService

LOG = logging.getLogger(__name__)

SUBJECT_TOKEN = {"name": "X-Subject-Token", "in": "header", "required": True,
                 "schema": {"type": "string", "maxLength": 4096},
                 "description": "The token to validate."}
_UNAUTHORIZED = (AuthFailed, NotAuthorizedForProject, TokenInvalid, UnsupportedAuth)
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


def _base_url(request: Request) -> str:
    return str(request.base_url)


def _error(request: Request, code: int, message: str) -> JSONResponse:
    headers = {}
    if code == 401:
        # Keystone names itself so a client knows where to get a token.
        headers["WWW-Authenticate"] = f'Keystone uri="{_base_url(request)}"'
    return JSONResponse(documents.error(code, _TITLES[code], message), status_code=code,
                        headers=headers)


def _error_for(request: Request, exc: IdentityError) -> JSONResponse:
    if isinstance(exc, MalformedAuthRequest):
        return _error(request, 400, str(exc))
    if isinstance(exc, _UNAUTHORIZED):
        # Operators need to see refused logins (typos in a service's config, brute force);
        # the message never contains the password.
        client = request.client.host if request.client else "unknown client"
        LOG.info("identity: refused %s %s from %s: %s", request.method, request.url.path,
                 client, exc)
        return _error(request, 401, f"The request you have made requires authentication. {exc}")
    LOG.error("identity request failed: %s", exc)
    return _error(request, 400, str(exc))


def _forbidden(request: Request, rule: str) -> JSONResponse:
    return _error(request, 403, f"You are not authorized to perform the requested action: "
                                f"{rule}. The token belongs to another user; only an "
                                "administrator may do this to it.")


async def _json_body(request: Request) -> Any:
    try:
        return decode_json(await request.body())
    except MalformedJson as exc:
        raise MalformedAuthRequest(f"The request body is not valid JSON: {exc}.") from None


def identity_router(tokens: TokenService, store: IdentityStore,
                    network_url: Callable[[Request], str]) -> APIRouter:
    """Routes for GET /v3, GET /identity, /v3/auth/* and POST /v2.0/tokens."""
    router = APIRouter(tags=["identity"])

    def caller(request: Request) -> RequestContext:
        token = request.headers.get("X-Auth-Token")
        if not token:
            raise AuthFailed("No X-Auth-Token header was given.")
        return tokens.validate(token)

    @router.get("/v3", include_in_schema=False)
    @router.get("/v3/", openapi_extra=openapi.PUBLIC)
    async def v3_version(request: Request) -> dict[str, Any]:
        return {"version": documents.v3_version(_base_url(request))}

    @router.get("/identity", include_in_schema=False)
    @router.get("/identity/", openapi_extra=openapi.PUBLIC)
    async def identity_versions(request: Request) -> JSONResponse:
        # 300 Multiple Choices, as Keystone answers on its root.
        return JSONResponse(documents.versions(_base_url(request)), status_code=300)

    @router.post("/v3/auth/tokens", status_code=201,
                 openapi_extra={**openapi.PUBLIC, **openapi.body(V3_AUTH_SCHEMA)})
    async def v3_issue(request: Request) -> Response:
        try:
            auth = parse_v3(await _json_body(request))
            token, info = await run_in_threadpool(log_in, auth, store, tokens)
            roles = await run_in_threadpool(store.roles, info.context.roles)
        except IdentityError as exc:
            return _error_for(request, exc)
        catalog = None if "nocatalog" in request.query_params else documents.v3_catalog(
            network_url(request), _base_url(request))
        return JSONResponse(documents.v3_token(info, roles, catalog), status_code=201,
                            headers={"X-Subject-Token": token})

    @router.api_route("/v3/auth/tokens", methods=["GET", "HEAD"],
                      openapi_extra={"parameters": [SUBJECT_TOKEN]})
    async def v3_validate(request: Request) -> Response:
        try:
            context = caller(request)
        except IdentityError as exc:
            return _error_for(request, exc)
        subject = request.headers.get("X-Subject-Token", "")
        try:
            info = tokens.inspect(subject)
        except TokenInvalid as exc:
            # Keystone answers 404 for a revoked token too.
            return _error(request, 404, f"Could not find token: {exc}")
        if request.method == "HEAD" and not may_check_token(context, info.context):
            return _forbidden(request, "identity:check_token")
        if request.method == "GET" and not may_validate_token(context, info.context):
            return _forbidden(request, "identity:validate_token")
        if request.method == "HEAD":
            return Response(status_code=200, headers={"X-Subject-Token": subject})
        roles = await run_in_threadpool(store.roles, info.context.roles)
        catalog = None if "nocatalog" in request.query_params else documents.v3_catalog(
            network_url(request), _base_url(request))
        return JSONResponse(documents.v3_token(info, roles, catalog),
                            headers={"X-Subject-Token": subject})

    @router.delete("/v3/auth/tokens", status_code=204)
    async def v3_revoke(request: Request) -> Response:
        try:
            context = caller(request)
        except IdentityError as exc:
            return _error_for(request, exc)
        subject = request.headers.get("X-Subject-Token", "")
        try:
            info = tokens.inspect(subject)
            if not may_revoke_token(context, info.context):
                return _forbidden(request, "identity:revoke_token")
            await run_in_threadpool(tokens.revoke, subject)
        except TokenInvalid as exc:
            return _error(request, 404, f"Could not find token: {exc}")
        return Response(status_code=204)

    @router.get("/v3/auth/projects")
    async def v3_projects(request: Request) -> Response:
        try:
            context = caller(request)
        except IdentityError as exc:
            return _error_for(request, exc)
        projects = await run_in_threadpool(store.projects_of, context.user_id)
        base = _base_url(request)
        return JSONResponse({
            "projects": [{"id": p.id, "name": p.name, "domain_id": p.domain_id,
                          "description": p.description, "enabled": p.enabled,
                          "is_domain": False, "parent_id": p.domain_id,
                          "links": {"self": f"{base}v3/projects/{p.id}"}} for p in projects],
            "links": {"self": f"{base}v3/auth/projects", "previous": None, "next": None},
        })

    @router.get("/v3/auth/catalog")
    async def v3_catalog(request: Request) -> Response:
        try:
            caller(request)
        except IdentityError as exc:
            return _error_for(request, exc)
        return JSONResponse({"catalog": documents.v3_catalog(network_url(request),
                                                             _base_url(request))})

    @router.post("/v2.0/tokens",
                 openapi_extra={**openapi.PUBLIC, **openapi.body(V2_AUTH_SCHEMA)})
    async def v2_issue(request: Request) -> Response:
        try:
            auth = parse_v2(await _json_body(request))
            token, info = await run_in_threadpool(log_in, auth, store, tokens)
            roles = await run_in_threadpool(store.roles, info.context.roles)
        except IdentityError as exc:
            return _error_for(request, exc)
        catalog = documents.v2_catalog(network_url(request), _base_url(request))
        return JSONResponse(documents.v2_access(token, info, roles, catalog))

    @router.get("/v2.0/tokens/{token_id}")
    async def v2_validate(token_id: str, request: Request) -> Response:
        # Keystone v2.0 lets only administrators validate other people's tokens.
        try:
            if not caller(request).is_admin:
                return _error(request, 403, "Validating tokens requires the admin role.")
        except IdentityError as exc:
            return _error_for(request, exc)
        try:
            info = tokens.inspect(token_id)
        except TokenInvalid as exc:
            return _error(request, 404, f"Could not find token: {exc}")
        roles = await run_in_threadpool(store.roles, info.context.roles)
        catalog = documents.v2_catalog(network_url(request), _base_url(request))
        return JSONResponse(documents.v2_access(token_id, info, roles, catalog))

    return router
