"""Subnet transactions; the first DHCP-enabled subnet schedules the network."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from neutrino import ipam, ipv6
from neutrino.config import ServerSettings
from neutrino.db.models import IpAllocation, Network, Port, Subnet
from neutrino.db.session import Database
from neutrino.errors import InvalidInput, SubnetInUse, SubnetNotFound
from neutrino.neutron_names import DEVICE_OWNER_DHCP
from neutrino.services import events
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow
from neutrino.services.networks import bump, load_network
from neutrino.services.views import subnet_view

ROUTER_INTERFACE = "network:router_interface"


def load_subnet(session: Session, subnet_id: str, project_id: str | None) -> Subnet:
    sub = session.get(Subnet, subnet_id)
    if sub is None:
        raise SubnetNotFound(subnet_id)
    if project_id is not None and sub.project_id != project_id:
        net = session.get(Network, sub.network_id)
        if net is None or not net.shared:
            raise SubnetNotFound(subnet_id)
    return sub


def _check_routes(routes: list[dict[str, str]]) -> list[dict[str, str]]:
    return [ipam.validate_route(route) for route in routes]


def _address_existing_ports(session: Session, net: Network, sub: Subnet) -> None:
    """As Neutron: a new SLAAC or stateless subnet gives every port of the network (router
    interfaces aside) its EUI-64 address there, since the VMs form it from the prefix."""
    for port in session.scalars(select(Port).where(Port.network_id == net.id,
                                                   Port.device_owner != ROUTER_INTERFACE)):
        session.add(IpAllocation(subnet_id=sub.id, port_id=port.id, network_id=net.id,
                                 ip_address=ipv6.eui64_address(sub.cidr, port.mac_address)))
        port.revision_number += 1
        port.updated_at = sub.created_at
    session.flush()


class Subnets:
    def __init__(self, db: Database, settings: ServerSettings, bindings: Bindings) -> None:
        self.db = db
        self.settings = settings
        self.bindings = bindings

    def create(self, project_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        plan = ipam.plan_subnet(
            attrs["cidr"], attrs.get("ip_version", 4), attrs.get("gateway_ip", ...),
            attrs.get("allocation_pools"))
        ipv6.validate_modes(plan.ip_version, plan.cidr, attrs.get("enable_dhcp", True),
                            attrs.get("ipv6_ra_mode"), attrs.get("ipv6_address_mode"))
        routes = _check_routes(attrs.get("host_routes", []))
        for server in attrs.get("dns_nameservers", []):
            ipam.parse_ip(server, "DNS name server")

        def work(session: Session) -> dict[str, Any]:
            net = load_network(session, attrs["network_id"], project_id, lock=True)
            if project_id is not None and net.project_id != project_id:
                # A shared network is visible, but only its owner adds subnets to it.
                raise InvalidInput(f"Network {net.id} belongs to another project; you cannot "
                                   "add subnets to it.")
            had_dhcp = self._check_overlap(session, net, plan.cidr)
            now = utcnow()
            sub = Subnet(
                id=str(uuid.uuid4()), network_id=net.id,
                project_id=attrs.get("project_id") or net.project_id,
                name=attrs.get("name", ""), description=attrs.get("description", ""),
                ip_version=plan.ip_version, cidr=plan.cidr, gateway_ip=plan.gateway_ip,
                enable_dhcp=attrs.get("enable_dhcp", True),
                allocation_pools=[p.as_dict() for p in plan.pools],
                dns_nameservers=list(attrs.get("dns_nameservers", [])), host_routes=routes,
                ipv6_ra_mode=attrs.get("ipv6_ra_mode"),
                ipv6_address_mode=attrs.get("ipv6_address_mode"),
                revision_number=1, created_at=now, updated_at=now)
            session.add(sub)
            bump(net)
            session.flush()
            if ipv6.is_auto_address(sub.ipv6_address_mode, sub.ipv6_ra_mode):
                _address_existing_ports(session, net, sub)
            events.record(session, "subnet.create", "subnet", sub.id, net.id)
            if sub.enable_dhcp and not had_dhcp:
                self.bindings.schedule(session, net, f"DHCP subnet {sub.id} created")
            return subnet_view(sub)

        return self.db.run(work)

    def _check_overlap(self, session: Session, net: Network, cidr: str) -> bool:
        """Refuse a cidr that overlaps; returns whether the network has a DHCP-enabled
        subnet already (read by the same query)."""
        query = select(Subnet.cidr, Subnet.network_id, Subnet.enable_dhcp)
        if self.settings.allow_overlapping_ips:
            # Overlap across networks is allowed; within one network it never is.
            query = query.where(Subnet.network_id == net.id)
        had_dhcp = False
        for other, other_net, dhcp in session.execute(query):
            had_dhcp = had_dhcp or (dhcp and other_net == net.id)
            if ipam.cidrs_overlap(other, cidr):
                where = "this network" if other_net == net.id else f"network {other_net}"
                raise InvalidInput(f"Requested subnet with cidr {cidr} overlaps with subnet "
                                   f"{other} of {where} (allow_overlapping_ips is "
                                   f"{self.settings.allow_overlapping_ips}).")
        return had_dhcp

    def get(self, subnet_id: str, project_id: str | None) -> dict[str, Any]:
        with self.db.session() as session:
            return subnet_view(load_subnet(session, subnet_id, project_id))

    def list(self, project_id: str | None) -> list[dict[str, Any]]:
        # Plain rows (subnet_view reads columns by name): no ORM objects for a long list.
        query = select(*Subnet.__table__.c).order_by(Subnet.created_at)
        if project_id is not None:
            shared = select(Network.id).where(Network.shared.is_(True))
            query = query.where(or_(Subnet.project_id == project_id,
                                    Subnet.network_id.in_(shared)))
        with self.db.connect() as conn:
            return [subnet_view(row) for row in conn.execute(query)]  # type: ignore[arg-type]

    def update(self, subnet_id: str, project_id: str | None, attrs: dict[str, Any]
               ) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            sub = load_subnet(session, subnet_id, project_id)
            net = load_network(session, sub.network_id, None, lock=True)
            if "gateway_ip" in attrs or "allocation_pools" in attrs:
                # Judge the new gateway against the new pools (and vice versa), not the old.
                plan = ipam.plan_subnet(sub.cidr, sub.ip_version,
                                        attrs.get("gateway_ip", sub.gateway_ip),
                                        attrs.get("allocation_pools", sub.allocation_pools))
                sub.gateway_ip = plan.gateway_ip
                sub.allocation_pools = [p.as_dict() for p in plan.pools]
            if "host_routes" in attrs:
                sub.host_routes = _check_routes(attrs["host_routes"])
            if "enable_dhcp" in attrs:
                ipv6.validate_modes(sub.ip_version, sub.cidr, attrs["enable_dhcp"],
                                    sub.ipv6_ra_mode, sub.ipv6_address_mode)
            for key in ("name", "description", "enable_dhcp", "dns_nameservers"):
                if key in attrs:
                    setattr(sub, key, attrs[key])
            sub.revision_number += 1
            sub.updated_at = utcnow()
            bump(net)
            events.record(session, "subnet.update", "subnet", sub.id, net.id)
            if attrs.get("enable_dhcp"):
                self.bindings.schedule(session, net, f"DHCP enabled on subnet {sub.id}")
            session.flush()
            return subnet_view(sub)

        return self.db.run(work)

    def delete(self, subnet_id: str, project_id: str | None) -> None:
        def work(session: Session) -> None:
            sub = load_subnet(session, subnet_id, project_id)
            net = load_network(session, sub.network_id, None, lock=True)
            users = session.scalars(
                select(Port.id).join(IpAllocation, IpAllocation.port_id == Port.id)
                .where(IpAllocation.subnet_id == sub.id,
                       Port.device_owner != DEVICE_OWNER_DHCP)).all()
            if users:
                raise SubnetInUse(f"Unable to complete operation on subnet {sub.id}: one or "
                                  f"more ports have an IP allocation from this subnet: "
                                  f"{', '.join(users[:5])}.")
            bump(net)
            events.record(session, "subnet.delete", "subnet", sub.id, net.id)
            session.delete(sub)

        self.db.run(work)
