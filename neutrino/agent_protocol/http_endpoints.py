"""HTTP driver of the agent transport, server side (docs/agent-rpc.md)."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from neutrino.agent_protocol.bounds import MAX_TEXT
from neutrino.agent_protocol.messages import (
    HTTP_PREFIX,
    AgentState,
    DeviceList,
    DhcpPortRequest,
)
from neutrino.agent_protocol.requests import (
    NETWORKS_APPLIED_SCHEMA,
    PORTS_READY_SCHEMA,
    parse_networks_applied,
    ready_port_ids,
)
from neutrino.agent_protocol.signal import ChangeSignal
from neutrino.api import openapi
from neutrino.api.auth import Authenticator, require_agent
from neutrino.api.body import json_body, parse_json_body, parse_message, raw_json_body
from neutrino.api.responses import json_response
from neutrino.identity.context import RequestContext
from neutrino.services import events
from neutrino.services.agent_rpc import AgentRpc
from neutrino.services.agents import Agents

# Other server replicas write events too; this process sees theirs by polling this often.
DB_POLL_INTERVAL = 0.5
MAX_WAIT = 60.0
# How report_state bodies of this driver are told apart from the RabbitMQ driver's
# (services/heartbeats.py RawReport).
RAW_FORM = "http"


# Path and query values name hosts and ids; the bounds are the columns' (bounds.py).
# A function, not a shared Path(): FastAPI writes each parameter's name into its FieldInfo.
def _host_path() -> Any:
    return Path(min_length=1, max_length=MAX_TEXT)


def _id_path() -> Any:
    return Path(min_length=1, max_length=64)


REPORT_STATE_DOC = openapi.operation("report_state",
                                     "Report an agent's state (its heartbeat)",
                                     openapi.model_body(AgentState), tag="agent-rpc")
def report_state_endpoint(agents: Agents, auth: Authenticator
                          ) -> Callable[[Request], Awaitable[Response]]:
    """POST {HTTP_PREFIX}/report_state as a plain Starlette endpoint.

    The hottest call of all (every agent, every report_interval), so it skips FastAPI's
    per-request dependency solving; the app mounts it with add_route.
    """

    async def report_state(request: Request) -> Response:
        require_agent(await auth(request))
        raw = (RAW_FORM, await raw_json_body(request))
        # A routine heartbeat repeats the agent's last one byte for byte: no parsing then.
        result = agents.quick_raw_report(raw)
        if result is None:
            state = parse_message(AgentState, parse_json_body(raw[1]))
            result = agents.quick_report(state, raw)
            if result is None:
                result = await run_in_threadpool(agents.report_state, state)
        return json_response(result.model_dump())

    return report_state


def agent_rpc_router(rpc: AgentRpc, signal: ChangeSignal, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix=HTTP_PREFIX, include_in_schema=True)

    async def agent(ctx: RequestContext = Depends(auth)) -> RequestContext:
        require_agent(ctx)
        return ctx


    @router.get("/dhcp/{host}/networks")
    async def active_networks(host: str = _host_path(), _: RequestContext = Depends(agent)) -> Any:
        refs = await run_in_threadpool(rpc.active_networks, host)
        return json_response({"networks": [r.model_dump() for r in refs]})

    @router.get("/dhcp/{host}/networks/{network_id}")
    async def network_info(host: str = _host_path(), network_id: str = _id_path(),
                           _: RequestContext = Depends(agent)) -> Any:
        info = await run_in_threadpool(rpc.network_info, host, network_id)
        return json_response(info.model_dump(by_alias=True))

    @router.post("/dhcp/ports", openapi_extra=openapi.model_body(DhcpPortRequest))
    async def create_dhcp_port(request: Request, _: RequestContext = Depends(agent)) -> Any:
        req = parse_message(DhcpPortRequest, await json_body(request))
        port = await run_in_threadpool(rpc.create_dhcp_port, req)
        return json_response(port.model_dump(by_alias=True))

    @router.put("/dhcp/ports/{port_id}", openapi_extra=openapi.model_body(DhcpPortRequest))
    async def update_dhcp_port(request: Request, port_id: str = _id_path(),
                               _: RequestContext = Depends(agent)) -> Any:
        req = parse_message(DhcpPortRequest, await json_body(request))
        port = await run_in_threadpool(rpc.update_dhcp_port, port_id, req)
        return json_response(port.model_dump(by_alias=True))

    @router.delete("/dhcp/ports", status_code=204)
    async def release_dhcp_port(network_id: str = Query(max_length=64),
                                device_id: str = Query(max_length=MAX_TEXT),
                                host: str = Query("", max_length=MAX_TEXT),
                                _: RequestContext = Depends(agent)) -> Response:
        await run_in_threadpool(rpc.release_dhcp_port, network_id, device_id)
        return Response(status_code=204)

    @router.post("/dhcp/ports_ready", status_code=204,
                 openapi_extra=openapi.body(PORTS_READY_SCHEMA))
    async def ports_ready(request: Request, _: RequestContext = Depends(agent)) -> Response:
        ids = ready_port_ids(await json_body(request))
        await run_in_threadpool(rpc.ports_ready, ids)
        return Response(status_code=204)

    @router.post("/dhcp/{host}/applied", status_code=204,
                 openapi_extra=openapi.body(NETWORKS_APPLIED_SCHEMA))
    async def networks_applied(request: Request, host: str = _host_path(),
                               _: RequestContext = Depends(agent)) -> Response:
        networks = parse_networks_applied(await json_body(request))
        await run_in_threadpool(rpc.networks_applied, host, networks)
        return Response(status_code=204)

    @router.get("/events")
    async def wait_events(request: Request,
                          host: str = Query(min_length=1, max_length=MAX_TEXT),
                          after: int = Query(-1, le=events.MAX_REVISION),
                          timeout: float = Query(30.0, allow_inf_nan=False),
                          _: RequestContext = Depends(agent)) -> Any:
        deadline = time.monotonic() + max(0.0, min(timeout, MAX_WAIT))
        while True:
            batch = await run_in_threadpool(rpc.events, host, after)
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

    @router.post("/l2/{host}/devices", status_code=204,
                 openapi_extra=openapi.model_body(DeviceList))
    async def update_device_list(request: Request, host: str = _host_path(),
                                 _: RequestContext = Depends(agent)) -> Response:
        devices = parse_message(DeviceList, await json_body(request))
        await run_in_threadpool(rpc.update_device_list, host, devices)
        return Response(status_code=204)

    @router.get("/l2/{host}")
    async def l2_state(host: str = _host_path(), _: RequestContext = Depends(agent)) -> Any:
        return json_response((await run_in_threadpool(rpc.l2_state, host)).model_dump())

    return router
