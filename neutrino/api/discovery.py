"""Version documents and the extension list."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from neutrino.api import openapi
from neutrino.api.auth import Authenticator
from neutrino.errors import NotFound
from neutrino.identity.context import RequestContext

UPDATED = "2026-11-25T00:00:00-00:00"

EXTENSIONS: list[dict[str, str]] = [
    {"alias": "agent", "name": "agent",
     "description": "The agent management extension."},
    {"alias": "agent_scheduler", "name": "Agent Schedulers",
     "description": "Schedule networks among DHCP agents."},
    {"alias": "dhcp_agent_scheduler", "name": "DHCP Agent Scheduler",
     "description": "Schedule networks among DHCP agents."},
    {"alias": "provider", "name": "Provider Network",
     "description": "Expose mapping of virtual networks to physical networks."},
    {"alias": "binding", "name": "Port Binding",
     "description": "Expose port bindings of a virtual port to external application."},
    {"alias": "extra_dhcp_opt", "name": "Neutron Extra DHCP options",
     "description": "Per-port DHCP options (extra_dhcp_opts), such as the PXE boot "
                    "server and file a port's DHCP answers carry."},
    {"alias": "dns-integration", "name": "DNS Integration",
     "description": "Provides integration with DNS."},
    {"alias": "availability_zone", "name": "Availability Zone",
     "description": "The availability zone extension."},
    {"alias": "network_availability_zone", "name": "Network Availability Zone",
     "description": "Availability zone support for network."},
    {"alias": "ip-substring-filtering", "name": "IP address substring filtering",
     "description": "Provides IP address substring filtering when listing ports"},
]


class ExtensionNotFound(NotFound):
    resource = "extension"


def _ext(item: dict[str, str]) -> dict[str, Any]:
    return {**item, "updated": UPDATED, "links": []}


def discovery_router(auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.get("/", openapi_extra=openapi.PUBLIC)
    async def versions(request: Request) -> Any:
        base = str(request.base_url)
        return {"versions": [{"id": "v2.0", "status": "CURRENT",
                              "links": [{"href": base + "v2.0/", "rel": "self"}]}]}

    @router.get("/v2.0", openapi_extra=openapi.PUBLIC)
    @router.get("/v2.0/", openapi_extra=openapi.PUBLIC)
    async def resources(request: Request) -> Any:
        base = str(request.base_url) + "v2.0/"
        return {"resources": [
            {"name": one, "collection": many,
             "links": [{"href": base + many, "rel": "self"}]}
            for one, many in (("network", "networks"), ("subnet", "subnets"),
                              ("port", "ports"), ("agent", "agents"))]}

    @router.get("/v2.0/extensions")
    async def extensions(_ctx: RequestContext = Depends(auth)) -> Any:
        return {"extensions": [_ext(e) for e in EXTENSIONS]}

    @router.get("/v2.0/extensions/{alias}")
    async def extension(alias: str, _ctx: RequestContext = Depends(auth)) -> Any:
        for item in EXTENSIONS:
            if item["alias"] == alias:
                return {"extension": _ext(item)}
        raise ExtensionNotFound(alias, f"Extension with alias {alias} does not exist.")

    return router
