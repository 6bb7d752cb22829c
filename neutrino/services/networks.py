"""Network transactions."""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from neutrino import zone_hints
from neutrino.config import ServerSettings
from neutrino.db.models import Network, NetworkSegment, Port, Subnet
from neutrino.db.session import Database
from neutrino.errors import NetworkInUse, NetworkNotFound
from neutrino.neutron_names import DEVICE_OWNER_DHCP
from neutrino.services import events, segments, statuses
from neutrino.services.availability_zones import check_hints_exist, hosting_zones
from neutrino.services.clock import utcnow
from neutrino.services.views import NETWORK_COLUMNS, network_fields, network_view

# Network rows locked per statement by lock_networks (the bound on an IN list).
LOCK_CHUNK = 500


def load_network(session: Session, network_id: str, project_id: str | None = None,
                 *, lock: bool = False) -> Network:
    """The network row, visible to `project_id` (None: any); `lock` serialises its changes."""
    query = select(Network).where(Network.id == network_id)
    if lock:
        query = query.with_for_update()
    net = session.scalars(query).first()
    if net is None or (project_id is not None and net.project_id != project_id
                       and not net.shared):
        raise NetworkNotFound(network_id)
    return net


def lock_networks(session: Session, network_ids: Iterable[str]) -> dict[str, Network]:
    """Lock these network rows, in id order (so that batches of binding changes running
    at once cannot deadlock); returns those that exist, by id."""
    ids = sorted(set(network_ids))
    found: dict[str, Network] = {}
    for start in range(0, len(ids), LOCK_CHUNK):
        found.update((n.id, n) for n in session.scalars(
            select(Network).where(Network.id.in_(ids[start:start + LOCK_CHUNK]))
            .order_by(Network.id).with_for_update()))
    return found


def count_in_project(db: Database, project_id: str) -> int:
    """How many networks the project owns (what a project's deletion leaves behind)."""
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Network)
                              .where(Network.project_id == project_id)) or 0


def bump(net: Network) -> None:
    """Every change inside a network advances its revision: agents drop older views."""
    net.revision_number += 1
    net.updated_at = utcnow()


class Networks:
    def __init__(self, db: Database, settings: ServerSettings, rng: random.Random) -> None:
        self.db = db
        self.settings = settings
        self.rng = rng

    def create(self, project_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        request = segments.request_from(attrs)
        if not request.empty:
            segments.check_request(request, self.settings)

        hints = attrs.get("availability_zone_hints", [])

        def work(session: Session) -> dict[str, Any]:
            check_hints_exist(session, hints)
            now = utcnow()
            net = Network(
                id=str(uuid.uuid4()), project_id=attrs.get("project_id") or project_id,
                name=attrs.get("name", ""), description=attrs.get("description", ""),
                admin_state_up=attrs.get("admin_state_up", True),
                shared=attrs.get("shared", False), dns_domain=attrs.get("dns_domain", ""),
                availability_zone_hints=zone_hints.joined(hints),
                mtu=self._mtu(request.network_type or self.settings.tenant_network_types[0]),
                revision_number=1, created_at=now, updated_at=now,
                subnets=[])  # a new network has none: the view needs no query for them
            if "mtu" in attrs:
                net.mtu = attrs["mtu"]
            session.add(net)
            session.flush()
            segment = segments.allocate(session, net.id, request, self.settings, self.rng)
            # What the view reads is what this transaction wrote: no re-read of the rows.
            set_committed_value(net, "segment", segment)
            events.record(session, "network.create", "network", net.id, net.id)
            session.flush()
            return network_view(net)

        return self.db.run(work)

    def _mtu(self, network_type: str) -> int:
        # VXLAN's outer headers cost 50 bytes of the physical MTU.
        overhead = 50 if network_type == "vxlan" else 0
        return self.settings.global_physnet_mtu - overhead

    def get(self, network_id: str, project_id: str | None) -> dict[str, Any]:
        with self.db.session() as session:
            net = load_network(session, network_id, project_id)
            return network_view(net, hosting_zones(session, [net.id]).get(net.id, ()))

    def list(self, project_id: str | None) -> list[dict[str, Any]]:
        # Plain rows, not ORM objects: with 10,000 networks the objects (network, segment,
        # subnets, each with its identity-map state) took about 70 MiB at the listing's peak.
        table = Network.__table__.c
        seg = NetworkSegment.__table__.c
        visible = [] if project_id is None else [
            or_(table.project_id == project_id, table.shared.is_(True))]
        with self.db.session() as session:
            subnets: dict[str, list[str]] = {}
            sub = Subnet.__table__.c
            query = select(sub.network_id, sub.id).order_by(sub.created_at)
            if visible:
                query = query.where(sub.network_id.in_(select(table.id).where(*visible)))
            for network_id, subnet_id in session.execute(query):
                subnets.setdefault(network_id, []).append(subnet_id)
            rows = list(session.execute(
                select(*(table[c] for c in NETWORK_COLUMNS), seg.network_type,
                       seg.physical_network, seg.segmentation_id)
                .outerjoin(NetworkSegment.__table__, seg.network_id == table.id)
                .where(*visible).order_by(table.created_at)))
            # An admin's list holds every network: one query over all bindings is cheaper
            # than naming thousands of ids; a project's list names its few.
            zones = {} if not rows else hosting_zones(
                session, None if project_id is None else [r.id for r in rows])
            return [network_fields(row, subnets.get(row.id, []),
                                   (row.network_type, row.physical_network,
                                    row.segmentation_id)
                                   if row.network_type is not None else None,
                                   zones.get(row.id, ()))
                    for row in rows]

    def update(self, network_id: str, project_id: str | None, attrs: dict[str, Any]
               ) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            net = load_network(session, network_id, project_id, lock=True)
            for key in ("name", "description", "admin_state_up", "shared", "mtu", "dns_domain"):
                if key in attrs:
                    setattr(net, key, attrs[key])
            bump(net)
            if "admin_state_up" in attrs:
                statuses.refresh_networks(session, [net.id])
            events.record(session, "network.update", "network", net.id, net.id)
            session.flush()
            return network_view(net, hosting_zones(session, [net.id]).get(net.id, ()))

        return self.db.run(work)

    def delete(self, network_id: str, project_id: str | None) -> None:
        def work(session: Session) -> None:
            net = load_network(session, network_id, project_id, lock=True)
            if project_id is not None and net.project_id != project_id:
                raise NetworkNotFound(network_id)
            in_use = session.scalars(
                select(Port.id).where(Port.network_id == network_id,
                                      Port.device_owner != DEVICE_OWNER_DHCP)).all()
            if in_use:
                raise NetworkInUse(
                    f"Unable to complete operation on network {network_id}. There are one or "
                    f"more ports still in use on the network: {', '.join(in_use[:5])}.")
            events.record(session, "network.delete", "network", net.id, net.id)
            session.delete(net)

        self.db.run(work)
