"""The `agent` and `agent_scheduler` extensions: admin-only agent management."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from neutrino.api import attributes, listing, openapi
from neutrino.api.auth import Authenticator, require_admin
from neutrino.api.body import json_body
from neutrino.api.errors import neutron_error
from neutrino.api.responses import json_response
from neutrino.errors import InvalidInput
from neutrino.identity.context import RequestContext
from neutrino.services.agents import Agents
from neutrino.services.bindings import Bindings
from neutrino.services.views import network_view

NETWORK_ID_BODY = {"type": "object", "additionalProperties": False, "required": ["network_id"],
                   "properties": {"network_id": attributes.uuid_str.schema}}


def agents_router(agents: Agents, bindings: Bindings, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.get("/v2.0/agents", openapi_extra=openapi.list_parameters(
        [*attributes.AGENT_ATTRS, *attributes.AGENT_READ_ONLY]))
    async def list_agents(request: Request, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_agent")
        items = await run_in_threadpool(agents.list)
        known = set(items[0]) if items else {"id", "host", "agent_type"}
        query = listing.parse_query(request.query_params.multi_items(), known)
        result, _ = listing.apply(items, query)
        return json_response({"agents": result})

    @router.get("/v2.0/agents/{agent_id}",
                openapi_extra={"parameters": [openapi.fields_parameter()]})
    async def show_agent(agent_id: str, request: Request,
                         ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_agent")
        item = await run_in_threadpool(agents.get, agent_id)
        fields = request.query_params.getlist("fields")
        return json_response({"agent": {k: v for k, v in item.items()
                                        if not fields or k in fields}})

    @router.put("/v2.0/agents/{agent_id}", openapi_extra=openapi.body(
        openapi.resource_schema("agent", attributes.AGENT_ATTRS, creating=False)))
    async def update_agent(agent_id: str, request: Request,
                           ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "update_agent")
        body = await json_body(request)
        attrs = attributes.parse_body("agent", body, attributes.AGENT_ATTRS, creating=False,
                                      is_admin=True, read_only=attributes.AGENT_READ_ONLY)
        if attrs.get("description", "") is None:
            attrs["description"] = ""
        return json_response({"agent": await run_in_threadpool(agents.update, agent_id, attrs)})

    @router.delete("/v2.0/agents/{agent_id}", status_code=204)
    async def delete_agent(agent_id: str, ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "delete_agent")
        await run_in_threadpool(agents.delete, agent_id)
        return Response(status_code=204)

    @router.get("/v2.0/agents/{agent_id}/dhcp-networks")
    async def networks_on_agent(agent_id: str, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_dhcp-networks")
        nets = await run_in_threadpool(bindings.networks_of_agent, agent_id)
        return json_response({"networks": [network_view(n) for n in nets]})

    @router.post("/v2.0/agents/{agent_id}/dhcp-networks", status_code=201,
                 openapi_extra=openapi.body(NETWORK_ID_BODY))
    async def add_network(agent_id: str, request: Request,
                          ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "create_dhcp-network")
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) != {"network_id"}:
            raise InvalidInput("Failed to parse request: expected {\"network_id\": \"<uuid>\"}.")
        network_id = attributes.uuid_str("network_id", body["network_id"])
        await run_in_threadpool(bindings.add, agent_id, network_id)
        return json_response({}, 201)

    @router.delete("/v2.0/agents/{agent_id}/dhcp-networks/{network_id}", status_code=204)
    async def remove_network(agent_id: str, network_id: str,
                             ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "delete_dhcp-network")
        await run_in_threadpool(bindings.remove, agent_id, network_id)
        return Response(status_code=204)

    @router.get("/v2.0/networks/{network_id}/dhcp-agents")
    async def agents_hosting(network_id: str, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_dhcp-agents")
        rows = await run_in_threadpool(bindings.agents_of_network, network_id)
        return json_response({"agents": [agents.view(a) for a in rows]})

    @router.post("/v2.0/agents", include_in_schema=False)
    async def no_create(ctx: RequestContext = Depends(auth)) -> Response:
        return neutron_error(405, "HTTPMethodNotAllowed",
                             "Agents cannot be created through the API: an agent registers "
                             "itself when it first reports its state.")

    return router
