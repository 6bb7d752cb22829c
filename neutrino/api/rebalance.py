"""The DHCP rebalance call (admin only): GET shows the plan, POST carries it out, and
GET .../moves lists the moves still waiting for their new agent (the progress).

A Neutrino extension, so outside Neutron's resource names: `/v2.0/dhcp-agent-rebalance`
(docs/operations.md, "Rebalance").
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool

from neutrino.api.auth import Authenticator, require_admin
from neutrino.api.responses import json_response
from neutrino.identity.context import RequestContext
from neutrino.services.rebalance import Plan, Rebalancer

PATH = "/v2.0/dhcp-agent-rebalance"


def plan_view(plan: Plan, dry_run: bool) -> dict[str, Any]:
    return {"rebalance": {
        "dry_run": dry_run,
        "load_type": plan.load_type,
        "moves": [{"network_id": m.network_id,
                   "from_agent_id": m.from_agent, "from_host": plan.hosts[m.from_agent],
                   "to_agent_id": m.to_agent, "to_host": plan.hosts[m.to_agent],
                   "reason": m.reason,
                   **({"skipped": plan.skipped[m.network_id]}
                      if m.network_id in plan.skipped else {})} for m in plan.moves],
        "agents": [{"id": a.agent_id, "host": a.host,
                    "availability_zone": a.availability_zone,
                    "load_before": a.before, "load_after": a.after} for a in plan.agents],
    }}


def rebalance_router(rebalancer: Rebalancer, auth: Authenticator) -> APIRouter:
    router = APIRouter()

    @router.get(PATH)
    async def show_plan(ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "get_dhcp-agent-rebalance")
        return json_response(plan_view(await run_in_threadpool(rebalancer.plan), True))

    @router.post(PATH)
    async def rebalance(ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "create_dhcp-agent-rebalance")
        return json_response(plan_view(await run_in_threadpool(rebalancer.run), False))

    @router.get(PATH + "/moves")
    async def pending_moves(ctx: RequestContext = Depends(auth)) -> Response:
        require_admin(ctx, "get_dhcp-agent-rebalance")
        return json_response({"moves": await run_in_threadpool(rebalancer.pending_moves)})

    return router
