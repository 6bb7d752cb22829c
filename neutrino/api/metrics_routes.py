"""GET /metrics on the API port: the Prometheus text format, for admin tokens only.

A Prometheus server that cannot send a token scrapes the listener of [DEFAULT]
metrics_bind instead (metrics/listener.py); nothing here is open without admin.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST

from neutrino.api.auth import Authenticator, require_admin
from neutrino.identity.context import RequestContext
from neutrino.metrics.exposition import Exposition


def metrics_router(exposition: Exposition, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "get_metrics")
        body = await run_in_threadpool(exposition.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
