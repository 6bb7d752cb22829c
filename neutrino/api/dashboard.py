"""The dashboard at /dashboard (docs/dashboard.md): its static page, and its two data
endpoints, one JSON view and the same view pushed as server-sent events; admin only.

The page and its script and style sheet are public (they hold no data: a browser must load
the login form before it has a token); every byte of data needs an admin token, sent as
X-Auth-Token like any other API call. The page keeps the token in sessionStorage and
streams with fetch(), not EventSource (which cannot send headers), so the API has no
cookie and therefore no cross-site request to defend against.
"""
from __future__ import annotations

import asyncio
import logging
from importlib import resources
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.staticfiles import StaticFiles

from neutrino.api import event_stream
from neutrino.api.auth import Authenticator, require_admin
from neutrino.api.responses import json_response
from neutrino.errors import DatabaseUnavailable, NotAuthenticated, PolicyNotAuthorized
from neutrino.identity.context import RequestContext
from neutrino.services.dashboard import (
    AGENT_STATES,
    MAX_PAGE_SIZE,
    MAX_SEARCH,
    NETWORK_STATES,
    Dashboard,
    PageQuery,
)

LOG = logging.getLogger(__name__)
STATIC = resources.files("neutrino") / "dashboard" / "static"
# How often a stream pushes the view: the heartbeat ages it shows tick by the second.
PUSH_PERIOD = 1.0
POLICY = "get_dashboard"


def _parameters() -> list[dict[str, Any]]:
    def param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema}

    text = {"type": "string", "maxLength": MAX_SEARCH}
    page = {"type": "integer", "minimum": 0, "maximum": 10**6}
    size = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
    return [param("agent_search", text), param("agent_state", {"enum": list(AGENT_STATES)}),
            param("agent_page", page), param("agent_size", size),
            param("network_search", text),
            param("network_state", {"enum": list(NETWORK_STATES)}),
            param("network_page", page), param("network_size", size)]


class ViewQuery:
    """The view's query parameters (see _parameters), checked as InvalidInput (400)."""

    def __init__(self, agent_search: str = Query(""), agent_state: str = Query(""),
                 agent_page: int = Query(0), agent_size: int = Query(25),
                 network_search: str = Query(""), network_state: str = Query(""),
                 network_page: int = Query(0), network_size: int = Query(25)) -> None:
        self.agents = PageQuery(agent_search, agent_state, agent_page, agent_size).check(
            AGENT_STATES, "agent")
        self.networks = PageQuery(network_search, network_state, network_page,
                                  network_size).check(NETWORK_STATES, "network")


def dashboard_router(dashboard: Dashboard, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    async def admin(ctx: RequestContext = Depends(auth)) -> RequestContext:
        require_admin(ctx, POLICY)
        return ctx

    @router.get("/dashboard", include_in_schema=False)
    async def page() -> Response:
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html",
                        headers={"Cache-Control": "no-cache"})

    @router.get("/dashboard/api/view", openapi_extra={"parameters": _parameters()})
    async def view(_: RequestContext = Depends(admin), q: ViewQuery = Depends()) -> Any:
        return json_response(await run_in_threadpool(dashboard.view, q.agents, q.networks))

    @router.get("/dashboard/api/stream", include_in_schema=False)
    async def stream(request: Request, _: RequestContext = Depends(admin),
                     q: ViewQuery = Depends()) -> Response:
        async def check() -> None:
            # A token revoked or expired while the page stays open ends its stream.
            try:
                require_admin(await auth(request), POLICY)
            except (NotAuthenticated, PolicyNotAuthorized) as exc:
                raise event_stream.Refused(str(exc)) from None

        async def render() -> str:
            try:
                doc = await run_in_threadpool(dashboard.view, q.agents, q.networks)
            except DatabaseUnavailable as exc:
                LOG.debug("dashboard push skipped: database unreachable (%s)", exc.reason)
                raise event_stream.RenderFailed(
                    "The server cannot reach its database; the dashboard shows the last "
                    "view it had and retries every second.") from None
            return orjson.dumps(doc).decode()

        stopping = request.scope.get("state", {}).get(event_stream.STOPPING_STATE)
        if not isinstance(stopping, asyncio.Event):
            stopping = asyncio.Event()  # no stop hook (a server without our protocol)
        return StreamingResponse(
            event_stream.pushes(render, check, stopping, PUSH_PERIOD),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return router


def mount_static(app: Any) -> None:
    """The page's script and style sheet under /dashboard/static/."""
    app.mount("/dashboard/static", StaticFiles(directory=str(STATIC)), name="dashboard")
