"""Networks, subnets and ports: the Neutron v2.0 core resources."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from neutrino.api import attributes, listing, openapi
from neutrino.api.attributes import Attr
from neutrino.api.auth import Authenticator, check_owner, scope
from neutrino.api.body import json_body
from neutrino.api.responses import json_response
from neutrino.identity.context import RequestContext


class ResourceService(Protocol):
    def create(self, project_id: str, attrs: dict[str, Any]) -> dict[str, Any]: ...
    def get(self, item_id: str, project_id: str | None) -> dict[str, Any]: ...
    def list(self, project_id: str | None) -> list[dict[str, Any]]: ...
    def update(self, item_id: str, project_id: str | None, attrs: dict[str, Any]
               ) -> dict[str, Any]: ...
    def delete(self, item_id: str, project_id: str | None) -> None: ...


@dataclass(frozen=True)
class Resource:
    singular: str
    plural: str
    attrs: dict[str, Attr]
    service: ResourceService
    # Filters the service applies in its database query (ports: fixed_ips), and the call
    # that takes them: (project scope, {filter name: values}) -> items.
    pushed_filters: tuple[str, ...] = ()
    filtered_list: Callable[[str | None, dict[str, list[str]]], list[dict[str, Any]]] | None \
        = None


def _visible(item: dict[str, Any], resource: Resource, ctx: RequestContext) -> dict[str, Any]:
    return item if ctx.is_admin else attributes.hide_admin_only(item, resource.attrs)


def _fields(request: Request) -> list[str]:
    return request.query_params.getlist("fields")


def _only(item: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in fields} if fields else item


def resource_router(resource: Resource, auth: Authenticator) -> APIRouter:
    router = APIRouter()
    one, many = resource.singular, resource.plural
    # What lists filter and sort on: the attribute table, plus what every resource shows.
    listed = [*resource.attrs, "id", "status", "revision_number", "created_at", "updated_at"]

    @router.get(f"/v2.0/{many}", openapi_extra=openapi.list_parameters(listed))
    async def list_items(request: Request, ctx: RequestContext = Depends(auth)) -> Any:
        pushed = {k: request.query_params.getlist(k) for k in resource.pushed_filters
                  if k in request.query_params}
        if pushed and resource.filtered_list is not None:
            items = await run_in_threadpool(resource.filtered_list, scope(ctx), pushed)
        else:
            items = await run_in_threadpool(resource.service.list, scope(ctx))
        known = set(items[0]) if items else set(resource.attrs) | {"id"}
        query = listing.parse_query(request.query_params.multi_items(), known)
        for key in pushed:
            query.filters.pop(key, None)
        result, more = listing.apply([_visible(i, resource, ctx) for i in items], query)
        body: dict[str, Any] = {many: result}
        if query.limit and more and items:
            last = result[-1].get("id") if result and "id" in result[-1] else None
            if last:
                href = str(request.url.include_query_params(marker=last))
                body[f"{many}_links"] = [{"rel": "next", "href": href}]
        return json_response(body)

    @router.get(f"/v2.0/{many}/{{item_id}}",
                openapi_extra={"parameters": [openapi.fields_parameter()]})
    async def show_item(item_id: str, request: Request,
                        ctx: RequestContext = Depends(auth)) -> Any:
        item = await run_in_threadpool(resource.service.get, item_id, scope(ctx))
        return json_response({one: _only(_visible(item, resource, ctx), _fields(request))})

    @router.post(f"/v2.0/{many}", status_code=201, openapi_extra=openapi.body(
        openapi.resource_schema(one, resource.attrs, creating=True)))
    async def create_item(request: Request, ctx: RequestContext = Depends(auth)) -> Any:
        body = await json_body(request)
        attrs = attributes.parse_body(one, body, resource.attrs, creating=True,
                                      is_admin=ctx.is_admin)
        check_owner(ctx, attrs, one)
        item = await run_in_threadpool(resource.service.create, ctx.project_id, attrs)
        return json_response({one: _visible(item, resource, ctx)}, 201)

    @router.put(f"/v2.0/{many}/{{item_id}}", openapi_extra=openapi.body(
        openapi.resource_schema(one, resource.attrs, creating=False)))
    async def update_item(item_id: str, request: Request,
                          ctx: RequestContext = Depends(auth)) -> Any:
        body = await json_body(request)
        attrs = attributes.parse_body(one, body, resource.attrs, creating=False,
                                      is_admin=ctx.is_admin)
        item = await run_in_threadpool(resource.service.update, item_id, scope(ctx), attrs)
        return json_response({one: _visible(item, resource, ctx)})

    @router.delete(f"/v2.0/{many}/{{item_id}}", status_code=204)
    async def delete_item(item_id: str, ctx: RequestContext = Depends(auth)) -> Response:
        await run_in_threadpool(resource.service.delete, item_id, scope(ctx))
        return Response(status_code=204)

    return router
