"""Drain of a DHCP agent (admin only): POST starts or resumes it, GET says how it stands.

POST /v2.0/agents/{id}/drain  {"drain": {"dry_run": false, "limit": 100}}  (body optional)
GET  /v2.0/agents/{id}/drain
Both answer {"drain": {...}} (services/drain.py DrainReport.view; docs/operations.md).
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from neutrino.api.auth import Authenticator, require_admin
from neutrino.api.body import json_body, parse_message
from neutrino.api.responses import json_response
from neutrino.errors import InvalidInput
from neutrino.identity.context import RequestContext
from neutrino.services.drain import Drains


class DrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dry_run: bool = False
    # Moves started by this call at most (the CLI starts them in batches); None: all.
    limit: int | None = Field(default=None, ge=1, le=100_000)


DRAIN_BODY = {"type": "object", "additionalProperties": False,
              "properties": {"drain": DrainRequest.model_json_schema()}}


def drain_router(drains: Drains, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.post("/v2.0/agents/{agent_id}/drain", openapi_extra={"requestBody": {
        "required": False, "content": {"application/json": {"schema": DRAIN_BODY}}}})
    async def start_drain(agent_id: str, request: Request,
                          ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "drain_agent")
        wanted = DrainRequest()
        if await request.body():
            body = await json_body(request)
            if not isinstance(body, dict) or set(body) - {"drain"}:
                raise InvalidInput("Failed to parse request: expected {\"drain\": {\"dry_run\": "
                                   "<bool>, \"limit\": <int>}}.")
            wanted = parse_message(DrainRequest, body.get("drain", {}))
        report = await run_in_threadpool(drains.start, agent_id, wanted.dry_run, wanted.limit)
        return json_response({"drain": report.view()})

    @router.get("/v2.0/agents/{agent_id}/drain")
    async def drain_status(agent_id: str, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_drain")
        report = await run_in_threadpool(drains.status, agent_id)
        return json_response({"drain": report.view()})

    return router
