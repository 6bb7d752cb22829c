"""The `agent` and `agent_scheduler` extensions: admin-only agent management."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from neutrino.api import attributes, listing, openapi
from neutrino.api.auth import Authenticator, actor, require_admin
from neutrino.api.body import json_body
from neutrino.api.errors import neutron_error
from neutrino.api.responses import json_response
from neutrino.errors import InvalidInput
from neutrino.identity.context import RequestContext
from neutrino.neutron_names import AGENT_TYPE_DHCP
from neutrino.services.agent_listing import KEYSET_SORT_KEYS, PUSHED_FILTERS, PageRequest
from neutrino.services.agents import Agents
from neutrino.services.bindings import Bindings
from neutrino.services.moves import BINDING_STATES, Moves

# What an agent shows, so what its list filters and sorts on.
AGENT_FIELDS = {*attributes.AGENT_ATTRS, *attributes.AGENT_READ_ONLY, "resources_synced"}


def _keyset_page(query: listing.ListQuery, page_reverse: str | None,
                 python_filters: dict[str, list[str]]) -> PageRequest | None:
    """The SQL keyset page for a `limit` query, when SQL orders and filters as the API does."""
    if not query.limit or python_filters or \
            not set(query.sort_keys) <= KEYSET_SORT_KEYS:
        return None
    dirs = query.sort_dirs or ["asc"] * len(query.sort_keys)
    return PageRequest(order=tuple(zip(query.sort_keys, dirs, strict=True)),
                       limit=query.limit, marker=query.marker,
                       reverse=(page_reverse or "").lower() == "true")


def _list_body(request: Request, query: listing.ListQuery, result: Sequence[object],
               more: bool, last: str | None) -> Response:
    """The list's answer, with the next page's link when more follow the last agent shown."""
    body: dict[str, Any] = {"agents": result}
    if query.limit and more and last:
        href = str(request.url.include_query_params(marker=last))
        body["agents_links"] = [{"rel": "next", "href": href}]
    return json_response(body)


NETWORK_ID_BODY = {"type": "object", "additionalProperties": False, "required": ["network_id"],
                   "properties": {"network_id": attributes.uuid_str.schema}}


def agents_router(agents: Agents, bindings: Bindings, moves: Moves,
                  auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.get("/v2.0/agents", openapi_extra=openapi.list_parameters(
        [*attributes.AGENT_ATTRS, *attributes.AGENT_READ_ONLY]))
    async def list_agents(request: Request, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_agent")
        query = listing.parse_query(request.query_params.multi_items(), AGENT_FIELDS)
        page_reverse = request.query_params.get("page_reverse")
        if not query.sort_keys and (page_reverse or "").lower() != "true":
            # The default order, forwards: from this process's copy of the views
            # (services/agent_list_cache.py); the API's list semantics filter and page it.
            if query.filters:
                items, _ = await run_in_threadpool(agents.listed)
                result, more = listing.apply(items, query)
                last = result[-1].get("id") if result else None
            elif query.fields:
                items, more = await run_in_threadpool(agents.listed, query.marker,
                                                      query.limit)
                result, _ = listing.apply(items, listing.ListQuery(fields=query.fields))
                last = items[-1]["id"] if items else None
            else:  # every field: each agent's JSON as the copy wrote it
                written, last, more = await run_in_threadpool(
                    agents.listed_json, query.marker, query.limit)
                return _list_body(request, query, written, more, last)
            return _list_body(request, query, result, more, last)
        pushed = {k: v for k, v in query.filters.items() if k in PUSHED_FILTERS}
        rest = {k: v for k, v in query.filters.items() if k not in PUSHED_FILTERS}
        page = _keyset_page(query, page_reverse, rest)
        if page is None:
            # Filters or sort keys SQL cannot order like the API: filter what SQL can,
            # then the rest (and the paging) over what it returned.
            items, _ = await run_in_threadpool(agents.list, pushed)
            result, more = listing.apply(items, replace(query, filters=rest))
        else:
            items, more = await run_in_threadpool(agents.list, pushed, page)
            result, _ = listing.apply(items, listing.ListQuery(fields=query.fields))
        if page is not None:
            # A reversed page runs backwards: the one after it ends where this one starts.
            last = (items[0] if page.reverse else items[-1])["id"] if items else None
        else:
            last = result[-1].get("id") if result else None
        return _list_body(request, query, result, more, last)

    async def with_readiness(item: dict[str, Any]) -> dict[str, Any]:
        """A DHCP agent's per-network readiness, as the server knows it from the agent's
        confirmations, in its configurations (agent-show and agent-update); one network's
        own state is in GET .../dhcp-networks (dhcp_state)."""
        if item.get("agent_type") == AGENT_TYPE_DHCP:
            states = Counter((await run_in_threadpool(moves.states_on_agent, item["id"]))
                             .values())
            item["configurations"] = {**(item.get("configurations") or {}),
                                      **{f"networks_{state}": states[state]
                                         for state in BINDING_STATES}}
        return item

    @router.get("/v2.0/agents/{agent_id}",
                openapi_extra={"parameters": [openapi.fields_parameter()]})
    async def show_agent(agent_id: str, request: Request,
                         ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_agent")
        item = await with_readiness(await run_in_threadpool(agents.get, agent_id))
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
        # Answered as agent-show answers, readiness included.
        return json_response({"agent": await with_readiness(await run_in_threadpool(
            agents.update, agent_id, attrs, actor(ctx)))})

    @router.delete("/v2.0/agents/{agent_id}", status_code=204)
    async def delete_agent(agent_id: str, ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "delete_agent")
        await run_in_threadpool(agents.delete, agent_id, actor(ctx))
        return Response(status_code=204)

    @router.get("/v2.0/agents/{agent_id}/dhcp-networks")
    async def networks_on_agent(agent_id: str, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_dhcp-networks")
        nets = await run_in_threadpool(bindings.networks_of_agent, agent_id)
        states = await run_in_threadpool(moves.states_on_agent, agent_id)
        # dhcp_state: this agent's binding (ready, loading, leaving, stuck); clients
        # ignore it.
        return json_response({"networks": [{**n, "dhcp_state": states.get(n["id"], "loading")}
                                           for n in nets]})

    @router.post("/v2.0/agents/{agent_id}/dhcp-networks", status_code=201,
                 openapi_extra=openapi.body(NETWORK_ID_BODY))
    async def add_network(agent_id: str, request: Request,
                          ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "create_dhcp-network")
        body = await json_body(request)
        if not isinstance(body, dict) or set(body) != {"network_id"}:
            raise InvalidInput("Failed to parse request: expected {\"network_id\": \"<uuid>\"}.")
        network_id = attributes.uuid_str("network_id", body["network_id"])
        await run_in_threadpool(bindings.add, agent_id, network_id, actor(ctx))
        return json_response({}, 201)

    @router.delete("/v2.0/agents/{agent_id}/dhcp-networks/{network_id}", status_code=204)
    async def remove_network(agent_id: str, network_id: str,
                             ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "delete_dhcp-network")
        # 204 at once; when another binding is still loading the network, this one
        # leaves once that one is ready (make-before-break; docs/operations.md).
        await run_in_threadpool(moves.remove, agent_id, network_id, actor(ctx))
        return Response(status_code=204)

    @router.get("/v2.0/networks/{network_id}/dhcp-agents")
    async def agents_hosting(network_id: str, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_dhcp-agents")
        rows = await run_in_threadpool(bindings.agents_of_network, network_id)
        states = await run_in_threadpool(moves.states_of_network, network_id)
        return json_response({"agents": [{**agents.view(a), "dhcp_state": states.get(
            a.id, "loading")} for a in rows]})

    @router.post("/v2.0/agents", include_in_schema=False)
    async def no_create(ctx: RequestContext = Depends(auth)) -> Response:
        return neutron_error(405, "HTTPMethodNotAllowed",
                             "Agents cannot be created through the API: an agent registers "
                             "itself when it first reports its state.")

    return router
