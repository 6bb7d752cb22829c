"""The app factory: wires settings, database, services and routers in one place."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from neutrino.api import agent_rpc, attributes, discovery, errors, openapi, rabbit_rpc
from neutrino.api import agents as agents_api
from neutrino.api.auth import Authenticator
from neutrino.api.connection_guard import LIMITS_STATE, ConnectionLimits
from neutrino.api.identity_routes import identity_router
from neutrino.api.loops import every
from neutrino.api.request_guard import RequestGuard
from neutrino.api.resources import Resource, resource_router
from neutrino.config import ServerSettings
from neutrino.db.session import Database
from neutrino.errors import DatabaseUnavailable
from neutrino.identity.lockout import LockoutPolicy
from neutrino.identity.revocations import Revocations
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService
from neutrino.services import events, quarantine
from neutrino.services.agent_rpc import AgentRpc
from neutrino.services.agents import Agents
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow
from neutrino.services.hearing import Hearing
from neutrino.services.networks import Networks
from neutrino.services.ports import Ports
from neutrino.services.subnets import Subnets
from neutrino.transport.signal import ChangeSignal

LOG = logging.getLogger(__name__)

# Failover is checked this often, so a dead agent's networks move within
# agent_down_time + dhcp_failover_grace + FAILOVER_PERIOD of its last heartbeat (or of the
# moment this server could hear it again, see services/hearing.py).
FAILOVER_PERIOD = 0.5
PRUNE_PERIOD = 60.0
# Routine heartbeats reach the database this often (see services/heartbeats.py).
HEARTBEAT_FLUSH_PERIOD = 0.2


@dataclass
class Services:
    db: Database
    settings: ServerSettings
    networks: Networks
    subnets: Subnets
    ports: Ports
    bindings: Bindings
    agents: Agents
    rpc: AgentRpc
    tokens: TokenService
    identity: IdentityStore
    revocations: Revocations
    hearing: Hearing


def build_services(settings: ServerSettings, db: Database,
                   rng: random.Random | None = None) -> Services:
    rng = rng or random.Random()
    hearing = Hearing(settings)
    bindings = Bindings(db, settings, rng, hearing.since)
    ports = Ports(db, settings, bindings, rng)
    # One copy of the revocation events per process, shared by token checks and the writers.
    revocations = Revocations(db, settings.token_expiration, settings.revocation_cache_time)
    lockout = LockoutPolicy(settings.lockout_failure_attempts, settings.lockout_duration)
    return Services(
        db=db, settings=settings, networks=Networks(db, settings, rng),
        subnets=Subnets(db, settings, bindings), ports=ports, bindings=bindings,
        agents=Agents(db, settings, bindings), rpc=AgentRpc(db, ports),
        tokens=TokenService(db, settings.token_expiration, revocations=revocations),
        identity=IdentityStore(db, lockout=lockout), revocations=revocations,
        hearing=hearing)


def _last_flush(services: Services) -> None:
    try:
        services.agents.heartbeats.flush()
    except DatabaseUnavailable as exc:
        LOG.warning("heartbeats of the last moments not recorded at shutdown: database "
                    "unreachable (%s)", exc.reason)


def create_app(settings: ServerSettings, db: Database, *, background: bool = True,
               rng: random.Random | None = None) -> FastAPI:
    services = build_services(settings, db, rng)
    signal = ChangeSignal()

    def _wake_agents(session: Session) -> None:
        if session.info.pop(events.WROTE_EVENTS, False):
            signal.notify()

    db.listen("after_commit", _wake_agents)
    hearing = services.hearing
    db.watch_reachability(hearing.database_reachable)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        signal.bind(asyncio.get_running_loop())
        rabbit = rabbit_rpc.start(services)  # None unless transport_url is rabbit://
        if rabbit is not None:
            hearing.watch_broker(rabbit.channel)
        hearing.start()
        tasks = [asyncio.create_task(every(HEARTBEAT_FLUSH_PERIOD, "heartbeat flush",
                                           services.agents.heartbeats.flush))]
        if settings.revocation_cache_time > 0:
            # Re-read revocations off the request path, twice per cache time, so that token
            # checks (on the event loop) almost never wait for the database.
            tasks.append(asyncio.create_task(every(
                settings.revocation_cache_time / 2, "token revocation refresh",
                services.revocations.refresh)))
        if background:
            tasks.append(asyncio.create_task(
                every(FAILOVER_PERIOD, "DHCP failover", services.bindings.failover)))
            tasks.append(asyncio.create_task(every(
                PRUNE_PERIOD, "event log pruning",
                lambda: db.run(lambda s: events.prune(s, settings.event_log_size)))))
            tasks.append(asyncio.create_task(every(
                PRUNE_PERIOD, "address quarantine pruning",
                lambda: db.run(lambda s: quarantine.prune(
                    s, utcnow(), timedelta(seconds=settings.ip_reuse_quarantine))))))
        try:
            # Lifespan state is how the server's connection protocol learns the limits.
            yield {LIMITS_STATE: ConnectionLimits.from_settings(settings)}
        finally:
            for task in tasks:
                task.cancel()
            if rabbit is not None:
                await run_in_threadpool(rabbit.stop)
            await run_in_threadpool(_last_flush, services)
            db.unlisten("after_commit", _wake_agents)
            db.unwatch_reachability(hearing.database_reachable)

    app = FastAPI(title="Neutrino", version="0.1.0", lifespan=lifespan,
                  description="Neutron v2.0 compatible networking API: networks, subnets, "
                              "ports, agents and DHCP agent scheduling.")
    app.state.services = services
    app.state.signal = signal
    errors.install(app)
    app.add_middleware(RequestGuard, max_body=settings.max_request_body_size,
                       body_timeout=settings.client_body_timeout)
    auth = Authenticator(services.tokens.validate if settings.auth_strategy == "keystone"
                         else None)

    def network_url(request: Request) -> str:
        return str(request.base_url)

    app.include_router(discovery.discovery_router(auth))
    app.include_router(identity_router(services.tokens, services.identity, network_url))
    for resource in (
        Resource("network", "networks", attributes.NETWORK_ATTRS, services.networks),
        Resource("subnet", "subnets", attributes.SUBNET_ATTRS, services.subnets),
        Resource("port", "ports", attributes.PORT_ATTRS, services.ports,
                 pushed_filters=("fixed_ips",), filtered_list=services.ports.list_filtered),
    ):
        app.include_router(resource_router(resource, auth))
    app.include_router(agents_api.agents_router(services.agents, services.bindings, auth))
    app.add_route(f"{agent_rpc.PREFIX}/report_state",
                  agent_rpc.report_state_endpoint(services.agents, auth), methods=["POST"])
    openapi.install(app, {f"{agent_rpc.PREFIX}/report_state": {
        "post": agent_rpc.REPORT_STATE_DOC}})
    app.include_router(agent_rpc.agent_rpc_router(db, services.agents, services.rpc, signal,
                                                  auth))
    return app
