"""The served OpenAPI document: request bodies and list parameters from the same attribute
tables and message models the API validates with, so that the document cannot drift from
what the server accepts (and schemathesis can drive every operation).

Routes read their bodies themselves (api/body.py gives Neutron's messages), so FastAPI
cannot see them; each route says what it reads through `openapi_extra` built here.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from neutrino.api.attributes import Attr
from neutrino.api.listing import RESERVED

SECURITY_SCHEME = "keystone"
PUBLIC: dict[str, Any] = {"security": []}  # openapi_extra of routes that need no token


def body(schema: dict[str, Any]) -> dict[str, Any]:
    """openapi_extra of a route that reads a JSON body of `schema`."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


def model_body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    # A nested model would put "$defs" here, which OpenAPI resolves from the document root.
    assert "$defs" not in schema, f"{model.__name__} needs its $defs moved to components"
    return body(schema)


def resource_schema(singular: str, attrs: dict[str, Attr], *, creating: bool
                    ) -> dict[str, Any]:
    """The schema of `{singular: {...}}` on create (POST) or update (PUT)."""
    allowed = {k: a for k, a in attrs.items() if (a.allow_post if creating else a.allow_put)}
    inner: dict[str, Any] = {
        "type": "object", "additionalProperties": False,
        "properties": {k: _described(a) for k, a in allowed.items()}}
    required = [k for k, a in allowed.items() if creating and a.required]
    if required:
        inner["required"] = required
    return {"type": "object", "additionalProperties": False, "required": [singular],
            "properties": {singular: inner}}


def _described(attr: Attr) -> dict[str, Any]:
    if attr.admin_only:
        return {**attr.validate.schema, "description": "Admin only."}
    return attr.validate.schema


def _array_query(name: str, items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "description": description, "schema": {"type": "array", "items": items}}


def fields_parameter() -> dict[str, Any]:
    return _array_query("fields", {"type": "string", "maxLength": 255},
                        "Attributes to return; all when absent.")


def list_parameters(names: Iterable[str]) -> dict[str, Any]:
    """openapi_extra of a Neutron list: filters on `names`, fields, sorting, paging."""
    known = sorted(set(names) - RESERVED)
    filters = [_array_query(n, {"type": "string"}, f"Only items whose {n} is one of these.")
               for n in known]
    return {"parameters": filters + [
        fields_parameter(),
        _array_query("sort_key", {"type": "string", "enum": known}, "Sort by these keys."),
        _array_query("sort_dir", {"type": "string", "enum": ["asc", "desc"]},
                     "One direction per sort_key."),
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0}, "description": "Page size."},
        {"name": "marker", "in": "query", "required": False,
         "schema": {"type": "string", "maxLength": 64},
         "description": "The id of the last item of the previous page."},
        {"name": "page_reverse", "in": "query", "required": False,
         "schema": {"type": "boolean"}, "description": "Accepted and ignored."},
    ]}


def operation(operation_id: str, summary: str, extra: dict[str, Any], tag: str
              ) -> dict[str, Any]:
    """A whole operation, for routes FastAPI does not document (plain Starlette routes)."""
    return {"operationId": operation_id, "summary": summary, "tags": [tag],
            "responses": {"200": {"description": "Successful Response"}}, **extra}


def install(app: FastAPI, extra_paths: dict[str, dict[str, Any]]) -> None:
    """Serve the document with the token scheme and the operations of `extra_paths`."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                # One route serving GET and HEAD gets one operationId; made unique below.
                warnings.filterwarnings("ignore", message="Duplicate Operation ID")
                doc = get_openapi(title=app.title, version=app.version,
                                  description=app.description, routes=app.routes)
            _unique_operation_ids(doc)
            for path, operations in extra_paths.items():
                doc["paths"].setdefault(path, {}).update(operations)
            doc.setdefault("components", {})["securitySchemes"] = {SECURITY_SCHEME: {
                "type": "apiKey", "in": "header", "name": "X-Auth-Token",
                "description": "A token from POST /v3/auth/tokens (X-Subject-Token)."}}
            doc["security"] = [{SECURITY_SCHEME: []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def _unique_operation_ids(doc: dict[str, Any]) -> None:
    seen: set[str] = set()
    for path_item in doc["paths"].values():
        for method, op in path_item.items():
            if op.get("operationId") in seen:
                op["operationId"] = f"{op['operationId']}_{method}"
            seen.add(op.get("operationId", ""))
