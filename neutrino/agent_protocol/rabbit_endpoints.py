"""RabbitMQ driver, server side wiring: which service method each call maps to, and the
publisher that casts this process's committed events to the agents.

The table calls exactly the service methods the HTTP routes of http_endpoints.py call; the
consumer (rabbit_server.py) knows nothing of services or the database.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from neutrino.agent_protocol.messages import AgentState, DeviceList, DhcpPortRequest
from neutrino.agent_protocol.rabbit_server import RabbitRpcServer
from neutrino.agent_protocol.requests import parse_networks_applied, ready_port_ids
from neutrino.api.body import parse_message as _parse
from neutrino.api.errors import NEUTRON_TYPE, status_of
from neutrino.errors import InvalidInput, NeutrinoError, shown
from neutrino.scheduler.liveness import Channel
from neutrino.services.agents import Agents
from neutrino.services.clock import utcnow
from neutrino.services.committed_events import CommittedEvents
from neutrino.transport.rabbit_topology import RpcError, RpcRequest, broker_params, is_rabbit_url
from neutrino.wiring import Services

LOG = logging.getLogger(__name__)
# How report_state bodies of this driver are told apart from the HTTP driver's
# (services/heartbeats.py RawReport).
RAW_FORM = "rabbit"
Call = Callable[[dict[str, Any]], Any]


def dispatch_table(services: Services) -> dict[str, Call]:
    """Call name -> function of the call's arguments returning a JSON-able answer."""
    agents, rpc = services.agents, services.rpc

    def report_state(args: dict[str, Any]) -> Any:
        return agents.report(_parse(AgentState, args)).model_dump()

    def fetch_events(args: dict[str, Any]) -> Any:
        return rpc.events(str(args["host"]), int(args["after"])).model_dump()

    def ports_ready(args: dict[str, Any]) -> None:
        rpc.ports_ready(ready_port_ids(args))

    return {
        "report_state": report_state,
        "get_active_networks": lambda a: [r.model_dump() for r in rpc.active_networks(
            a["host"])],
        "get_network_info": lambda a: rpc.network_info(a["host"], a["network_id"]).model_dump(
            by_alias=True),
        "create_dhcp_port": lambda a: rpc.create_dhcp_port(
            _parse(DhcpPortRequest, a)).model_dump(by_alias=True),
        "update_dhcp_port": lambda a: rpc.update_dhcp_port(
            a["port_id"], _parse(DhcpPortRequest, a["request"])).model_dump(by_alias=True),
        "release_dhcp_port": lambda a: rpc.release_dhcp_port(a["network_id"],
                                                             a["device_id"]),
        "dhcp_ready_on_ports": ports_ready,
        "networks_applied": lambda a: rpc.networks_applied(str(a["host"]),
                                                           parse_networks_applied(a)),
        "update_device_list": lambda a: rpc.update_device_list(str(a["host"]),
                                                               _parse(DeviceList, a)),
        "fetch_events": fetch_events,
        "get_l2_state": lambda a: rpc.l2_state(a["host"]).model_dump(),
    }


def quick_answer(agents: Agents) -> Callable[[bytes], Any]:
    """A call's answer from memory, or None: report_state when routine (RabbitRpcServer's
    `quick`). Bytes that repeat the agent's last routine call are not even parsed."""

    def quick(body: bytes) -> Any:
        raw = (RAW_FORM, body)
        result = agents.quick_raw_report(raw)
        if result is None:
            try:
                request = RpcRequest.model_validate(orjson.loads(body))
                if request.method != "report_state":
                    return None
                state = AgentState.model_validate(request.args)
            except ValueError:  # orjson's and pydantic's errors: the pool's path says why
                return None
            result = agents.quick_report(state, raw)
        return None if result is None else result.model_dump()

    return quick


def describe_error(exc: Exception) -> RpcError:
    """The status and type the HTTP driver would answer with (api/errors.py decides)."""
    if isinstance(exc, NeutrinoError):
        name = type(exc).__name__
        return RpcError(type=NEUTRON_TYPE.get(name, name), message=str(exc),
                        status=status_of(exc))
    if isinstance(exc, KeyError | TypeError | ValueError):
        return RpcError(type="HTTPBadRequest", message=f"Malformed call: {shown(repr(exc))}.",
                        status=400)
    return RpcError(type=type(exc).__name__, message=str(exc), status=500)


class RabbitEndpoint:
    """The running RabbitMQ side of one server process: consumer plus event publisher."""

    def __init__(self, committed: CommittedEvents, server: RabbitRpcServer) -> None:
        self.server = server
        self._connected_at: datetime | None = None
        self._committed = committed
        committed.subscribe(server.publish_events)

    def connected(self) -> None:
        """The link (re)connected and consumes agents' calls again (RabbitRpcServer hook)."""
        self._connected_at = utcnow()

    def channel(self) -> Channel:
        """The broker link as hearing sees it (services/hearing.py): up since the last
        (re)connection, or down."""
        up = self.server.ready.is_set() and self._connected_at is not None
        return Channel("the RabbitMQ link", self._connected_at if up else None)

    def stop(self) -> None:
        self._committed.unsubscribe(self.server.publish_events)
        self.server.stop()


def start(services: Services) -> RabbitEndpoint | None:
    """Serve agents over RabbitMQ when transport_url is rabbit://; None otherwise."""
    settings = services.settings
    if not is_rabbit_url(settings.transport_url):
        return None
    table = dispatch_table(services)

    def handle(method: str, args: dict[str, Any]) -> Any:
        call = table.get(method)
        if call is None:
            raise InvalidInput(f"Unknown agent call '{shown(method)}'; known: "
                               f"{', '.join(table)}.")
        return call(args)

    endpoint: RabbitEndpoint | None = None

    def connected() -> None:
        if endpoint is not None:
            endpoint.connected()

    server = RabbitRpcServer(broker_params(settings.transport_url, settings.rabbit_tls),
                             settings.control_exchange, handle, describe_error,
                             on_connected=connected, quick=quick_answer(services.agents))
    endpoint = RabbitEndpoint(services.committed, server)
    server.start()
    return endpoint
