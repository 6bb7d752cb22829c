"""GET /v2.0/agent-history: the agent history (services/history.py), admin only.

Named apart from the agents' event log on purpose: this is the record of what happened to
agents and their network bindings, newest first, in Neutron's list shape
({"agent_history": [...], "agent_history_links": [...]}).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from neutrino.api.auth import Authenticator, require_admin
from neutrino.api.responses import json_response
from neutrino.errors import InvalidInput, shown
from neutrino.identity.context import RequestContext
from neutrino.services.history import FIELDS, KINDS, PAGE_MAX, History, HistoryQuery

PATH = "/v2.0/agent-history"
MULTI = {"network_id", "agent_id", "kind", "fields"}
SINGLE = {"since", "limit", "marker"}
MAX_VALUES = 100  # per filter: a query of an unbounded IN list is no query


def parse_time(value: str, name: str = "since") -> datetime:
    """An ISO 8601 time as naive UTC (server time); no zone means UTC."""
    try:
        when = datetime.fromisoformat(value)
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):  # overflow: a zone pushes it past year 1 or 9999
        raise InvalidInput(f"{name}={shown(value)} is not an ISO 8601 time; write e.g. "
                           "2026-12-01T17:00:00Z or 2026-12-01 17:00:00+01:00.") from None
    return when


def _int(name: str, value: str, low: int) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if number < low or number > 2**63 - 1:
        raise InvalidInput(f"{name} must be an integer {low} or greater and not "
                           f"'{shown(value)}'.")
    return number


def parse_query(params: Iterable[tuple[str, str]]) -> tuple[HistoryQuery, list[str]]:
    """The query string of a history read: the query and the fields to show (400 for
    anything else)."""
    multi: dict[str, list[str]] = {k: [] for k in MULTI}
    single: dict[str, str] = {}
    for key, value in params:
        if key in MULTI:
            multi[key].append(value)
            if len(multi[key]) > MAX_VALUES:
                raise InvalidInput(f"At most {MAX_VALUES} values of {key} per request.")
        elif key in SINGLE:
            if key in single:
                raise InvalidInput(f"{key} given twice; give it once.")
            single[key] = value
        else:
            raise InvalidInput(f"{shown(key)} is not a parameter of the agent history; use "
                               f"{', '.join(sorted(MULTI | SINGLE))}.")
    limit = _int("limit", single["limit"], 0) if "limit" in single else 0
    query = HistoryQuery(
        network_ids=tuple(multi["network_id"]), agent_ids=tuple(multi["agent_id"]),
        kinds=tuple(multi["kind"]),
        since=parse_time(single["since"]) if "since" in single else None,
        limit=min(limit, PAGE_MAX) or PAGE_MAX,
        marker=_int("marker", single["marker"], 1) if "marker" in single else None)
    query.check()
    bad = [f for f in multi["fields"] if f not in FIELDS]
    if bad:
        raise InvalidInput(f"fields={shown(bad[0])} is not a field of the agent history; "
                           f"use any of {', '.join(FIELDS)}.")
    return query, multi["fields"]


def _array(name: str, items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "description": description,
            "schema": {"type": "array", "items": items, "maxItems": MAX_VALUES}}


PARAMETERS = {"parameters": [
    _array("network_id", {"type": "string", "maxLength": 64}, "Entries of these networks."),
    _array("agent_id", {"type": "string", "maxLength": 64},
           "Entries of these agents: the agent itself, or either end of a binding change."),
    _array("kind", {"type": "string", "enum": list(KINDS)}, "Entries of these kinds."),
    _array("fields", {"type": "string", "enum": list(FIELDS)}, "Attributes to return."),
    {"name": "since", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time"},
     "description": "Entries at or after this time (ISO 8601; no zone means UTC)."},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0},
     "description": f"Page size; 0 or absent: {PAGE_MAX}, also the most a page holds."},
    {"name": "marker", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1},
     "description": "The id of the last entry of the previous page (older ones follow)."},
]}


def history_router(history: History, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.get(PATH, openapi_extra=PARAMETERS)
    async def list_history(request: Request, ctx: RequestContext = Depends(auth)) -> Any:
        require_admin(ctx, "get_agent_history")
        query, fields = parse_query(request.query_params.multi_items())
        items, more = await run_in_threadpool(history.read, query)
        body: dict[str, Any] = {"agent_history": [
            {k: v for k, v in i.items() if k in fields} if fields else i for i in items]}
        if more and items:
            # Older entries follow: the next page starts below the last one of this page.
            href = str(request.url.include_query_params(marker=items[-1]["id"]))
            body["agent_history_links"] = [{"rel": "next", "href": href}]
        return json_response(body)

    return router
