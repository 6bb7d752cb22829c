"""The `availability_zone` extension's resource: GET /v2.0/availability_zones."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from neutrino.api import listing, openapi
from neutrino.api.auth import Authenticator
from neutrino.api.responses import json_response
from neutrino.identity.context import RequestContext
from neutrino.services.availability_zones import AvailabilityZones

FIELDS = ("name", "resource", "state")


def availability_zones_router(zones: AvailabilityZones, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    # Any user may list zones, as Neutron's policy allows (openstack availability zone list).
    @router.get("/v2.0/availability_zones", openapi_extra=openapi.list_parameters(FIELDS))
    async def list_zones(request: Request, _ctx: RequestContext = Depends(auth)) -> Any:
        items = await run_in_threadpool(zones.list)
        query = listing.parse_query(request.query_params.multi_items(), set(FIELDS))
        result, _more = listing.apply(items, query)
        return json_response({"availability_zones": result})

    return router
