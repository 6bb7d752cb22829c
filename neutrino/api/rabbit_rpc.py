"""RabbitMQ driver, server side wiring: which service method each call maps to, and the
commit hook that pushes this process's events to the agents.

The table calls exactly the service methods the HTTP routes of api/agent_rpc.py call; the
transport (neutrino/transport/rabbit_server.py) knows nothing of services or the database.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neutrino.api.agent_rpc import parse_networks_applied
from neutrino.api.body import parse_message as _parse
from neutrino.api.errors import NEUTRON_TYPE, status_of
from neutrino.db.models import Event as EventRow
from neutrino.errors import InvalidInput, NeutrinoError, shown
from neutrino.scheduler.liveness import Channel
from neutrino.services import events
from neutrino.services.agent_rpc import ready_port_ids
from neutrino.services.clock import utcnow
from neutrino.transport.messages import AgentState, DeviceList, DhcpPortRequest, Event
from neutrino.transport.rabbit_server import RabbitRpcServer
from neutrino.transport.rabbit_topology import RpcError, broker_params, is_rabbit_url

LOG = logging.getLogger(__name__)
# session.info key: events flushed in this transaction, published once it commits.
PENDING = "neutrino.rabbit_events"

Call = Callable[[dict[str, Any]], Any]


def dispatch_table(services: Any) -> dict[str, Call]:
    """Call name -> function of the call's arguments returning a JSON-able answer."""
    agents, rpc, db = services.agents, services.rpc, services.db

    def report_state(args: dict[str, Any]) -> Any:
        state = _parse(AgentState, args)
        return (agents.quick_report(state) or agents.report_state(state)).model_dump()

    def fetch_events(args: dict[str, Any]) -> Any:
        with db.session() as session:
            return events.fetch(session, str(args["host"]), int(args["after"])).model_dump()

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

    def __init__(self, services: Any, server: RabbitRpcServer) -> None:
        self.server = server
        self._connected_at: datetime | None = None
        self._db = services.db
        self._hooks = (("after_flush", self._collect), ("after_commit", self._publish),
                       ("after_rollback", self._forget))
        for name, hook in self._hooks:
            self._db.listen(name, hook)

    def _collect(self, session: Session, _context: Any) -> None:
        rows = [o for o in session.new if isinstance(o, EventRow)]
        if rows:
            session.info.setdefault(PENDING, []).extend(
                Event(revision=r.id, event=r.event, resource=r.resource,
                      resource_id=r.resource_id, network_id=r.network_id, host=r.host)
                for r in rows)

    def _publish(self, session: Session) -> None:
        pending = session.info.pop(PENDING, None)
        if pending:
            self.server.publish_events(pending)

    def _forget(self, session: Session) -> None:
        session.info.pop(PENDING, None)

    def connected(self) -> None:
        """The link (re)connected and consumes agents' calls again (RabbitRpcServer hook)."""
        self._connected_at = utcnow()

    def channel(self) -> Channel:
        """The broker link as hearing sees it (services/hearing.py): up since the last
        (re)connection, or down."""
        up = self.server.ready.is_set() and self._connected_at is not None
        return Channel("the RabbitMQ link", self._connected_at if up else None)

    def stop(self) -> None:
        for name, hook in self._hooks:
            self._db.unlisten(name, hook)
        self.server.stop()


def start(services: Any) -> RabbitEndpoint | None:
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
                             on_connected=connected)
    endpoint = RabbitEndpoint(services, server)
    server.start()
    return endpoint
