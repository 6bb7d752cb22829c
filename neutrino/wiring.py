"""The server's services, built once per process: the one place they are wired together.

The HTTP app (api/app.py) and the RabbitMQ endpoint (agent_protocol/rabbit_endpoints.py)
both receive the one `Services` built here, typed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from neutrino.config import ServerSettings
from neutrino.db.session import Database
from neutrino.identity.lockout import LockoutPolicy
from neutrino.identity.revocations import Revocations
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService
from neutrino.metrics.instruments import ServerMetrics, multiprocess_dir
from neutrino.services.agent_rpc import AgentRpc
from neutrino.services.agents import Agents
from neutrino.services.availability_zones import AvailabilityZones
from neutrino.services.binding_changes import BindingChanges
from neutrino.services.bindings import Bindings
from neutrino.services.committed_events import CommittedEvents
from neutrino.services.dashboard import Dashboard
from neutrino.services.drain import Drains
from neutrino.services.fleet_snapshot import FleetSnapshot
from neutrino.services.hearing import Hearing
from neutrino.services.history import History
from neutrino.services.moves import Moves
from neutrino.services.networks import Networks
from neutrino.services.ports import Ports
from neutrino.services.rebalance import Rebalancer
from neutrino.services.subnets import Subnets


@dataclass
class Services:
    db: Database
    settings: ServerSettings
    networks: Networks
    subnets: Subnets
    ports: Ports
    bindings: Bindings
    moves: Moves
    drains: Drains
    rebalancer: Rebalancer
    agents: Agents
    rpc: AgentRpc
    tokens: TokenService
    identity: IdentityStore
    revocations: Revocations
    hearing: Hearing
    history: History  # the operators' agent history (not the agents' event log)
    committed: CommittedEvents  # what each commit of this process wrote to the event log
    zones: AvailabilityZones
    binding_changes: BindingChanges  # the binding changes each commit made, by reason
    metrics: ServerMetrics
    fleet_snapshot: FleetSnapshot  # this process's copy of the agents, for scheduling
    dashboard: Dashboard


def build_services(settings: ServerSettings, db: Database,
                   rng: random.Random | None = None) -> Services:
    rng = rng or random.Random()
    hearing = Hearing(settings)
    fleet_snapshot = FleetSnapshot(db, settings.agent_down_time)
    bindings = Bindings(db, settings, rng, hearing.since, fleet_snapshot)
    ports = Ports(db, settings, bindings, rng)
    moves = Moves(db, settings, bindings, rng, hearing.since)
    rebalancer = Rebalancer(db, settings, bindings, moves)
    # One copy of the revocation events per process, shared by token checks and the writers.
    revocations = Revocations(db, settings.token_expiration, settings.revocation_cache_time)
    history = History(db, settings, hearing.since)
    metrics = ServerMetrics(multiprocess_dir())
    lockout = LockoutPolicy(settings.lockout_failure_attempts, settings.lockout_duration)
    return Services(
        db=db, settings=settings, networks=Networks(db, settings, rng),
        subnets=Subnets(db, settings, bindings), ports=ports, bindings=bindings, moves=moves,
        drains=Drains(db, settings, bindings, moves, rng),
        rebalancer=rebalancer,
        agents=Agents(db, settings, bindings, joined=rebalancer.agent_joined,
                      fleet=fleet_snapshot),
        rpc=AgentRpc(db, ports, moves, on_events_read=metrics.events_read),
        tokens=TokenService(db, settings.token_expiration, revocations=revocations),
        identity=IdentityStore(db, lockout=lockout), revocations=revocations,
        hearing=hearing, committed=CommittedEvents(db), zones=AvailabilityZones(db),
        binding_changes=BindingChanges(db), metrics=metrics, fleet_snapshot=fleet_snapshot,
        history=history, dashboard=Dashboard(db, settings, history))
