"""HTTP driver of the agent transport, server side (docs/agent-rpc.md)."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from neutrino.api.auth import Authenticator, require_agent
from neutrino.api.body import json_body
from neutrino.api.responses import json_response
from neutrino.db.session import Database
from neutrino.errors import InvalidInput
from neutrino.identity.context import RequestContext
from neutrino.services import events
from neutrino.services.agent_rpc import AgentRpc
from neutrino.services.agents import Agents
from neutrino.transport.messages import AgentState, DhcpPortRequest, EventBatch, NetworkApplied
from neutrino.transport.signal import ChangeSignal

PREFIX = "/agent-rpc/v1"
# Other server replicas write events too; this process sees theirs by polling this often.
DB_POLL_INTERVAL = 0.5
MAX_WAIT = 60.0


def _parse(model: Any, body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValueError as exc:
        raise InvalidInput(f"Invalid {model.__name__}: {exc}") from None


def parse_networks_applied(body: Any) -> list[NetworkApplied]:
    """The body of networks_applied, {"networks": [NetworkApplied, ...]}, validated."""
    items = body.get("networks") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InvalidInput('Expected {"networks": [{"network_id": "<uuid>", '
                           '"revision_number": <int>, "serving": <bool>}, ...]}.')
    return [_parse(NetworkApplied, item) for item in items]


def report_state_endpoint(agents: Agents, auth: Authenticator
                          ) -> Callable[[Request], Awaitable[Response]]:
    """POST {PREFIX}/report_state as a plain Starlette endpoint.

    The hottest call of all (every agent, every report_interval), so it skips FastAPI's
    per-request dependency solving; the app mounts it with add_route.
    """

    async def report_state(request: Request) -> Response:
        require_agent(await auth(request))
        state = _parse(AgentState, await json_body(request))
        result = agents.quick_report(state)
        if result is None:
            result = await run_in_threadpool(agents.report_state, state)
        return json_response(result.model_dump())

    return report_state


def agent_rpc_router(db: Database, agents: Agents, rpc: AgentRpc, signal: ChangeSignal,
                     auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=True)

    async def agent(ctx: RequestContext = Depends(auth)) -> RequestContext:
        require_agent(ctx)
        return ctx


    @router.get("/dhcp/{host}/networks")
    async def active_networks(host: str, _: RequestContext = Depends(agent)) -> Any:
        refs = await run_in_threadpool(rpc.active_networks, host)
        return json_response({"networks": [r.model_dump() for r in refs]})

    @router.get("/dhcp/{host}/networks/{network_id}")
    async def network_info(host: str, network_id: str,
                           _: RequestContext = Depends(agent)) -> Any:
        info = await run_in_threadpool(rpc.network_info, host, network_id)
        return json_response(info.model_dump(by_alias=True))

    @router.post("/dhcp/ports")
    async def create_dhcp_port(request: Request, _: RequestContext = Depends(agent)) -> Any:
        req = _parse(DhcpPortRequest, await json_body(request))
        port = await run_in_threadpool(rpc.create_dhcp_port, req)
        return json_response(port.model_dump(by_alias=True))

    @router.put("/dhcp/ports/{port_id}")
    async def update_dhcp_port(port_id: str, request: Request,
                               _: RequestContext = Depends(agent)) -> Any:
        req = _parse(DhcpPortRequest, await json_body(request))
        port = await run_in_threadpool(rpc.update_dhcp_port, port_id, req)
        return json_response(port.model_dump(by_alias=True))

    @router.delete("/dhcp/ports", status_code=204)
    async def release_dhcp_port(network_id: str, device_id: str, host: str = "",
                                _: RequestContext = Depends(agent)) -> Response:
        await run_in_threadpool(rpc.release_dhcp_port, network_id, device_id)
        return Response(status_code=204)

    @router.post("/dhcp/ports_ready", status_code=204)
    async def ports_ready(request: Request, _: RequestContext = Depends(agent)) -> Response:
        body = await json_body(request)
        ids = body.get("port_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidInput("Expected {\"port_ids\": [\"<uuid>\", ...]}.")
        await run_in_threadpool(rpc.ports_ready, ids)
        return Response(status_code=204)

    @router.post("/dhcp/{host}/applied", status_code=204)
    async def networks_applied(host: str, request: Request,
                               _: RequestContext = Depends(agent)) -> Response:
        networks = parse_networks_applied(await json_body(request))
        await run_in_threadpool(rpc.networks_applied, host, networks)
        return Response(status_code=204)

    @router.get("/events")
    async def wait_events(request: Request, host: str, after: int = -1,
                          timeout: float = 30.0, _: RequestContext = Depends(agent)) -> Any:
        deadline = time.monotonic() + max(0.0, min(timeout, MAX_WAIT))

        def fetch() -> EventBatch:
            with db.session() as session:
                return events.fetch(session, host, after)

        while True:
            batch = await run_in_threadpool(fetch)
            left = deadline - time.monotonic()
            if batch.events or batch.reset or after < 0 or left <= 0:
                return json_response(batch.model_dump())
            # An agent that went away (stopped, killed) no longer waits: a poll held for it
            # would only hold up this server's shutdown, for up to MAX_WAIT.
            if await request.is_disconnected():
                return Response(status_code=204)
            # Cursor moved past events for other hosts: resume from there.
            after = batch.latest_revision
            await signal.wait(min(left, DB_POLL_INTERVAL))

    @router.get("/l2/{host}")
    async def l2_state(host: str, _: RequestContext = Depends(agent)) -> Any:
        return json_response((await run_in_threadpool(rpc.l2_state, host)).model_dump())

    return router
