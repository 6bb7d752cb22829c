"""The app factory: wires settings, database, services and routers in one place."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from neutrino import heap
from neutrino.agent_protocol import http_endpoints, rabbit_endpoints
from neutrino.agent_protocol.messages import HTTP_PREFIX, Event
from neutrino.agent_protocol.sibling_wake import SiblingWake
from neutrino.agent_protocol.signal import ChangeSignal
from neutrino.api import agents as agents_api
from neutrino.api import attributes, discovery, errors, openapi
from neutrino.api import dashboard as dashboard_api
from neutrino.api import drain as drain_api
from neutrino.api import history as history_api
from neutrino.api import rebalance as rebalance_api
from neutrino.api.auth import Authenticator
from neutrino.api.availability_zones import availability_zones_router
from neutrino.api.connection_guard import LIMITS_STATE, ConnectionLimits
from neutrino.api.event_stream import STOPPING_STATE
from neutrino.api.identity_routes import identity_router
from neutrino.api.loops import every, when_due
from neutrino.api.metrics_routes import metrics_router
from neutrino.api.request_guard import RequestGuard
from neutrino.api.request_timing import RequestTiming
from neutrino.api.resources import Resource, resource_router
from neutrino.config import ServerSettings
from neutrino.db.session import Database
from neutrino.errors import DatabaseUnavailable
from neutrino.metrics.exposition import Exposition
from neutrino.services import events, fleet, fleet_snapshot, quarantine
from neutrino.wiring import Services, build_services

LOG = logging.getLogger(__name__)

# Failover runs when the first agent hosting networks would turn dead (Bindings.failover_pass),
# so a dead agent's networks move within agent_down_time + dhcp_failover_grace + a fraction
# of a second of its last heartbeat (or of the moment this server could hear it again, see
# services/hearing.py); and at least this often, for networks no live agent could take yet.
FAILOVER_PERIOD = 1.0
PRUNE_PERIOD = 60.0
# Pending moves are looked at this often besides each confirmation of their target: a
# target that died is replaced, a move left by another (or a stopped) server is finished.
MOVES_PERIOD = 1.0
# Routine heartbeats reach the database this often (see services/heartbeats.py).
HEARTBEAT_FLUSH_PERIOD = 0.2
# Freed heap goes back to the operating system this often (neutrino/heap.py).
HEAP_TRIM_PERIOD = 10.0


def _last_flush(services: Services) -> None:
    try:
        services.agents.heartbeats.flush()
    except DatabaseUnavailable as exc:
        LOG.warning("heartbeats of the last moments not recorded at shutdown: database "
                    "unreachable (%s)", exc.reason)


def _watch_agents(services: Services) -> float | None:
    """Deaths first, so that the history tells an agent died before its networks moved;
    returns when the next failover verdict is due (api/loops.py `when_due`)."""
    services.history.watch_liveness()
    return services.bindings.failover_pass()


def create_app(settings: ServerSettings, db: Database, *, background: bool = True,
               rng: random.Random | None = None) -> FastAPI:
    services = build_services(settings, db, rng)
    signal = ChangeSignal()
    siblings = SiblingWake.from_env()  # None unless one of several API workers

    def _wake_agents(_written: list[Event]) -> None:
        signal.notify()
        if siblings is not None:
            siblings.tell()

    services.committed.subscribe(_wake_agents)
    services.binding_changes.subscribe(services.metrics.binding_changed)
    hearing = services.hearing
    db.watch_reachability(hearing.database_reachable)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        signal.bind(loop)
        if siblings is not None:
            siblings.listen(loop, signal.notify)
        rabbit = rabbit_endpoints.start(services)  # None unless transport_url is rabbit://
        if rabbit is not None:
            hearing.watch_broker(rabbit.channel)
        hearing.start()
        tasks = [asyncio.create_task(every(HEARTBEAT_FLUSH_PERIOD, "heartbeat flush",
                                           services.agents.heartbeats.flush)),
                 asyncio.create_task(every(fleet_snapshot.REFRESH_PERIOD,
                                           "fleet heartbeat refresh",
                                           services.fleet_snapshot.refresh_heartbeats)),
                 asyncio.create_task(every(HEAP_TRIM_PERIOD, "heap trim",
                                           heap.release_free_heap))]
        if settings.revocation_cache_time > 0:
            # Re-read revocations off the request path, twice per cache time, so that token
            # checks (on the event loop) almost never wait for the database.
            tasks.append(asyncio.create_task(every(
                settings.revocation_cache_time / 2, "token revocation refresh",
                services.revocations.refresh)))
        if background:
            tasks.append(asyncio.create_task(
                when_due(FAILOVER_PERIOD, "DHCP failover", lambda: _watch_agents(services))))
            tasks.append(asyncio.create_task(
                every(MOVES_PERIOD, "DHCP network moves", services.moves.check)))
            tasks.append(asyncio.create_task(every(
                PRUNE_PERIOD, "event log pruning",
                lambda: events.prune_log(db, settings.event_log_size))))
            tasks.append(asyncio.create_task(every(
                PRUNE_PERIOD, "agent history pruning", services.history.prune)))
            tasks.append(asyncio.create_task(every(
                PRUNE_PERIOD, "address quarantine pruning",
                lambda: quarantine.prune_expired(
                    db, timedelta(seconds=settings.ip_reuse_quarantine)))))
        try:
            # Lifespan state is how the server's connection protocol learns the limits, and
            # how it tells event streams that the server is stopping.
            yield {LIMITS_STATE: ConnectionLimits.from_settings(settings),
                   STOPPING_STATE: asyncio.Event()}
        finally:
            for task in tasks:
                task.cancel()
            if rabbit is not None:
                await run_in_threadpool(rabbit.stop)
            await run_in_threadpool(_last_flush, services)
            services.committed.unsubscribe(_wake_agents)
            if siblings is not None:
                siblings.close(loop)
            services.binding_changes.unsubscribe(services.metrics.binding_changed)
            db.unwatch_reachability(hearing.database_reachable)

    app = FastAPI(title="Neutrino", version="0.1.0", lifespan=lifespan,
                  description="Neutron v2.0 compatible networking API: networks, subnets, "
                              "ports, agents and DHCP agent scheduling.")
    app.state.services = services
    app.state.signal = signal
    errors.install(app)
    app.add_middleware(RequestGuard, max_body=settings.max_request_body_size,
                       body_timeout=settings.client_body_timeout)
    # Outside the guard: refused requests are timed and counted too.
    app.add_middleware(RequestTiming, observe=services.metrics.request_done)
    # What /metrics (and the metrics_bind listener) return.
    app.state.metrics = Exposition(services.metrics.source,
                                   lambda: fleet.summarize(db, settings))
    auth = Authenticator(services.tokens.validate if settings.auth_strategy == "keystone"
                         else None)

    def network_url(request: Request) -> str:
        return str(request.base_url)

    app.include_router(discovery.discovery_router(auth))
    app.include_router(metrics_router(app.state.metrics, auth))
    app.include_router(identity_router(services.tokens, services.identity, network_url))
    for resource in (
        Resource("network", "networks", attributes.NETWORK_ATTRS, services.networks),
        Resource("subnet", "subnets", attributes.SUBNET_ATTRS, services.subnets),
        Resource("port", "ports", attributes.PORT_ATTRS, services.ports,
                 pushed_filters=("fixed_ips",), filtered_list=services.ports.list_filtered),
    ):
        app.include_router(resource_router(resource, auth))
    app.include_router(agents_api.agents_router(services.agents, services.bindings,
                                                services.moves, auth))
    app.include_router(rebalance_api.rebalance_router(services.rebalancer, auth))
    app.include_router(drain_api.drain_router(services.drains, auth))
    app.include_router(availability_zones_router(services.zones, auth))
    app.include_router(history_api.history_router(services.history, auth))
    app.add_route(f"{HTTP_PREFIX}/report_state",
                  http_endpoints.report_state_endpoint(services.agents, auth), methods=["POST"])
    openapi.install(app, {f"{HTTP_PREFIX}/report_state": {
        "post": http_endpoints.REPORT_STATE_DOC}})
    app.include_router(http_endpoints.agent_rpc_router(services.rpc, signal, auth))
    app.include_router(dashboard_api.dashboard_router(services.dashboard, auth))
    dashboard_api.mount_static(app)
    return app
