"""Port transactions: addresses, MACs, bindings; the first port schedules the network."""
from __future__ import annotations

import ipaddress
import random
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from neutrino import dhcp_options, dns_names, ipam, ipv6
from neutrino.config import ServerSettings
from neutrino.db.models import ExtraDhcpOpt, IpAllocation, Network, Port, Subnet
from neutrino.db.session import Database
from neutrino.errors import (
    AddressExhausted,
    InvalidInput,
    IpAddressInUse,
    MacAddressInUse,
    PortNotFound,
)
from neutrino.port_status import follows_wiring
from neutrino.services import events, port_filters, quarantine, statuses
from neutrino.services.bindings import Bindings
from neutrino.services.clock import utcnow
from neutrino.services.networks import bump, load_network
from neutrino.services.views import port_view

MAC_ATTEMPTS = 16


def _auto_address(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and ipv6.is_auto_address(subnet.ipv6_address_mode,
                                                           subnet.ipv6_ra_mode)


def load_port(session: Session, port_id: str, project_id: str | None) -> Port:
    port = session.scalars(select(Port).where(Port.id == port_id)
                           .options(selectinload(Port.fixed_ips))).first()
    if port is None or (project_id is not None and port.project_id != project_id):
        raise PortNotFound(port_id)
    return port


def _set_extra_dhcp_opts(port: Port, requested: list[dict[str, Any]]) -> None:
    """Bring the port's option rows to what the request leaves (dhcp_options.apply_request)."""
    rows = {(o.opt_name, o.ip_version): o for o in port.extra_dhcp_opts}
    wanted = dhcp_options.apply_request({k: o.opt_value for k, o in rows.items()}, requested)
    for key, row in rows.items():
        if key not in wanted:
            port.extra_dhcp_opts.remove(row)
        elif row.opt_value != wanted[key]:
            row.opt_value = wanted[key]
    for (name, version), value in wanted.items():
        if (name, version) not in rows:
            port.extra_dhcp_opts.append(ExtraDhcpOpt(port_id=port.id, opt_name=name,
                                                     ip_version=version, opt_value=value))


def _initial_status(device_owner: str, binding_host_id: str) -> str:
    """A compute port starts DOWN (services/statuses.py takes it on from there); any other
    port is ACTIVE once bound to a host, as before port status followed wiring."""
    if follows_wiring(device_owner):
        return "DOWN"
    return "ACTIVE" if binding_host_id else "DOWN"


class Ports:
    def __init__(self, db: Database, settings: ServerSettings, bindings: Bindings,
                 rng: random.Random) -> None:
        self.db = db
        self.settings = settings
        self.bindings = bindings
        self.rng = rng

    def _view(self, port: Port) -> dict[str, Any]:
        return port_view(port, self.settings.dns_domain)

    def _dns_name(self, attrs: dict[str, Any]) -> str:
        """The dns_name asked for ('' if none), checked against [DEFAULT] dns_domain."""
        name: str = attrs.get("dns_name", "")
        try:
            dns_names.check_name_in_domain(name, self.settings.dns_domain)
        except dns_names.BadDnsName as exc:
            raise InvalidInput(f"Invalid input for dns_name. Reason: {exc}") from None
        return name

    def create(self, project_id: str | None, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.db.run(lambda session: self.create_in(session, project_id, attrs))

    def create_in(self, session: Session, project_id: str | None, attrs: dict[str, Any]
                  ) -> dict[str, Any]:
        net = load_network(session, attrs["network_id"], project_id, lock=True)
        now = utcnow()
        first_port = session.scalar(select(Port.id).where(Port.network_id == net.id)
                                    .limit(1)) is None
        owner = attrs.get("device_owner", "")
        port = Port(
            id=str(uuid.uuid4()), network_id=net.id,
            project_id=attrs.get("project_id") or project_id or net.project_id,
            name=attrs.get("name", ""), description=attrs.get("description", ""),
            admin_state_up=attrs.get("admin_state_up", True),
            device_id=attrs.get("device_id", ""), device_owner=owner,
            binding_host_id=attrs.get("binding:host_id", ""),
            dns_name=self._dns_name(attrs),
            status=_initial_status(owner, attrs.get("binding:host_id", "")),
            revision_number=1, created_at=now, updated_at=now, mac_address="",
            # What a DHCP agent must confirm: the revision bump(net) below gives the network
            # (set before the insert, which then writes it: no UPDATE after).
            dhcp_revision=net.revision_number + 1)
        self._insert_with_mac(session, port, attrs.get("mac_address"))
        # The view reads what this transaction wrote, not the rows again.
        set_committed_value(port, "fixed_ips", sorted(
            self._allocate(session, net, port, attrs.get("fixed_ips")),
            key=lambda a: a.ip_address))  # the relationship's order_by
        set_committed_value(port, "extra_dhcp_opts", [])
        if attrs.get("extra_dhcp_opts"):
            _set_extra_dhcp_opts(port, attrs["extra_dhcp_opts"])
        bump(net)
        assert port.dhcp_revision == net.revision_number
        events.record(session, "port.create", "port", port.id, net.id)
        if first_port:
            self.bindings.schedule(session, net, f"first port {port.id} created")
        session.flush()
        return self._view(port)

    def _insert_with_mac(self, session: Session, port: Port, mac: str | None) -> None:
        if mac is not None:
            port.mac_address = ipam.validate_mac(mac)
            if not self._try_insert(session, port):
                raise MacAddressInUse(f"Unable to complete operation for network "
                                      f"{port.network_id}. The mac address {mac} is in use.")
            return
        # A MAC is unique within its network, and every writer of a network's ports holds
        # the network's row lock (load_network(lock=True)): which candidates are taken,
        # asked once under that lock, stays true until commit. One query, no savepoint.
        candidates = list(dict.fromkeys(ipam.random_mac(self.settings.base_mac, self.rng)
                                        for _ in range(MAC_ATTEMPTS)))
        taken = set(session.scalars(select(Port.mac_address).where(
            Port.network_id == port.network_id, Port.mac_address.in_(candidates))))
        free = [mac for mac in candidates if mac not in taken]
        if not free:
            raise MacAddressInUse("Unable to generate a unique MAC address for the port; "
                                  "base_mac leaves too few free addresses.")
        port.mac_address = free[0]
        session.add(port)

    def _try_insert(self, session: Session, row: Any) -> bool:
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            return True
        except IntegrityError:
            session.expunge(row) if row in session else None
            return False

    def _allocate(self, session: Session, net: Network, port: Port,
                  requested: list[dict[str, str]] | None) -> list[IpAllocation]:
        """Claim the port's addresses; returns the rows claimed."""
        subnets = {s.id: s for s in net.subnets}
        if requested is None:
            # No fixed_ips asked for: one address from every subnet of the network.
            wanted: list[tuple[Subnet, str | None]] = [(s, None) for s in subnets.values()]
        else:
            wanted = [self._resolve_request(net, subnets, item) for item in requested]
        claimed = []
        for subnet, address in wanted:
            if _auto_address(subnet):
                claimed.append(self._claim_auto(session, subnet, port, address))
            elif address is not None:
                claimed.append(self._claim(session, subnet, port, address))
            else:
                claimed.append(self._claim_next(session, subnet, port))
        return claimed

    def _claim_auto(self, session: Session, subnet: Subnet, port: Port,
                    requested: str | None) -> IpAllocation:
        """SLAAC and DHCPv6-stateless: the port's address is the EUI-64 of its MAC."""
        address = ipv6.eui64_address(subnet.cidr, port.mac_address)
        if requested is not None and ipaddress.ip_address(requested) != \
                ipaddress.ip_address(address):
            # As Neutron: the VM derives its address from its MAC, so no other can be its.
            mode = subnet.ipv6_address_mode or subnet.ipv6_ra_mode
            raise InvalidInput(f"IPv6 address {requested} cannot be directly assigned to a "
                               f"port on subnet {subnet.id} since the subnet is configured "
                               f"for automatic addresses ({mode}); its address is "
                               f"{address}.")
        return self._claim(session, subnet, port, address)

    def _readdress_auto(self, session: Session, net: Network, port: Port) -> set[tuple[str, str]]:
        """After a MAC change, move the port's EUI-64 addresses to the new MAC's."""
        auto = {s.id: s for s in net.subnets if _auto_address(s)}
        moved = [a for a in port.fixed_ips if a.subnet_id in auto]
        if not moved:
            return set()
        for alloc in moved:
            port.fixed_ips.remove(alloc)
            session.delete(alloc)
        session.flush()
        for alloc in moved:
            self._claim(session, auto[alloc.subnet_id], port,
                        ipv6.eui64_address(auto[alloc.subnet_id].cidr, port.mac_address))
        return {(a.subnet_id, a.ip_address) for a in moved}

    def _resolve_request(self, net: Network, subnets: dict[str, Subnet],
                         item: dict[str, str]) -> tuple[Subnet, str | None]:
        subnet_id = item.get("subnet_id")
        address = item.get("ip_address")
        if subnet_id is not None:
            if subnet_id not in subnets:
                raise InvalidInput(f"Subnet {subnet_id} is not a subnet of network {net.id}.")
            subnet = subnets[subnet_id]
            if address is not None and ipaddress.ip_address(address) not in \
                    ipaddress.ip_network(subnet.cidr):
                raise InvalidInput(f"IP address {address} is not a valid IP for subnet "
                                   f"{subnet_id} ({subnet.cidr}).")
            return subnet, address
        if address is None:
            raise InvalidInput("Each fixed_ips entry needs a subnet_id, an ip_address or both.")
        for subnet in subnets.values():
            if ipaddress.ip_address(address) in ipaddress.ip_network(subnet.cidr):
                return subnet, address
        raise InvalidInput(f"IP address {address} is not in any subnet of network {net.id}.")

    def _claim(self, session: Session, subnet: Subnet, port: Port, address: str
               ) -> IpAllocation:
        address = str(ipaddress.ip_address(address))
        net = ipaddress.ip_network(subnet.cidr)
        if address in (str(net.network_address), str(net.broadcast_address)) \
                and net.version == 4:
            raise InvalidInput(f"IP address {address} is the network or broadcast address of "
                               f"subnet {subnet.cidr}.")
        if address == subnet.gateway_ip and port.device_owner != "network:router_interface":
            raise IpAddressInUse(f"IP address {address} is the gateway of subnet {subnet.id}.")
        row = IpAllocation(subnet_id=subnet.id, ip_address=address, port_id=port.id,
                           network_id=port.network_id)
        if not self._try_insert(session, row):
            raise IpAddressInUse(f"Unable to complete operation for network "
                                 f"{port.network_id}. The IP address {address} is in use.")
        # Asked for by name: reused at once, quarantined or not. Every hosting agent drops
        # the old MAC's lease when it serves the new port (agent/releases.py).
        quarantine.forget(session, subnet.id, address)
        return row

    def _claim_next(self, session: Session, subnet: Subnet, port: Port) -> IpAllocation:
        used = set(session.scalars(select(IpAllocation.ip_address)
                                   .where(IpAllocation.subnet_id == subnet.id)))
        freed = quarantine.freed_in(session, subnet.id)
        held = {f.address for f in freed}
        address = next(iter(ipam.candidate_addresses(subnet.allocation_pools, used, freed,
                                                     utcnow(), self._quarantine)), None)
        if address is not None:
            row = IpAllocation(subnet_id=subnet.id, ip_address=address, port_id=port.id,
                               network_id=port.network_id)
            # `used` was read under the network's row lock, which every writer of its
            # addresses holds: the address stays free until commit, so the row goes in with
            # the transaction's other inserts (no savepoint). The primary key still forbids
            # a double allocation, should a writer ever forget the lock.
            session.add(row)
            if address in held:
                quarantine.forget(session, subnet.id, address)
            return row
        waiting = sum(not ipam.reusable(f, utcnow(), self._quarantine) for f in freed)
        detail = (f"; {waiting} recently freed addresses wait for DHCP agents to release "
                  f"them (ip_reuse_quarantine)" if waiting else "")
        raise AddressExhausted(f"No more IP addresses available for subnet {subnet.id} "
                               f"({subnet.cidr}){detail}.")

    @property
    def _quarantine(self) -> timedelta:
        return timedelta(seconds=self.settings.ip_reuse_quarantine)

    def release_addresses(self, session: Session, net: Network,
                          addresses: set[tuple[str, str]]) -> None:
        """Quarantine (subnet_id, ip) pairs a port let go; call after bump(net)."""
        quarantine.free(session, net.id, net.revision_number, addresses, utcnow(),
                        self._quarantine)

    def get(self, port_id: str, project_id: str | None) -> dict[str, Any]:
        with self.db.session() as session:
            return self._view(load_port(session, port_id, project_id))

    def list_filtered(self, project_id: str | None, filters: dict[str, list[str]]
                      ) -> list[dict[str, Any]]:
        """list() narrowed in the query by the filters it knows (fixed_ips)."""
        return self.list(project_id, port_filters.parse(filters.get("fixed_ips", [])))

    def list(self, project_id: str | None,
             fixed_ips: port_filters.FixedIpFilter | None = None) -> list[dict[str, Any]]:
        with self.db.session() as session:
            query = select(Port).options(selectinload(Port.fixed_ips)).order_by(Port.created_at)
            where = port_filters.condition(fixed_ips) if fixed_ips else None
            if where is not None:
                query = query.where(where)
            if project_id is not None:
                shared = select(Network.id).where(Network.shared.is_(True))
                query = query.where(or_(Port.project_id == project_id,
                                        Port.network_id.in_(shared)))
            return [self._view(p) for p in session.scalars(query)]

    def update(self, port_id: str, project_id: str | None, attrs: dict[str, Any]
               ) -> dict[str, Any]:
        def work(session: Session) -> dict[str, Any]:
            port = load_port(session, port_id, project_id)
            net = load_network(session, port.network_id, None, lock=True)
            for key in ("name", "description", "admin_state_up", "device_id", "device_owner"):
                if key in attrs:
                    setattr(port, key, attrs[key])
            if "dns_name" in attrs:
                port.dns_name = self._dns_name(attrs)
            rebound = "binding:host_id" in attrs
            if rebound and attrs["binding:host_id"] != port.binding_host_id:
                port.binding_host_id = attrs["binding:host_id"]
                # The new host's L2 agent must wire it; the old one's report no longer counts.
                port.wired_host = ""
            written = "fixed_ips" in attrs or attrs.get("mac_address", port.mac_address) \
                != port.mac_address
            if "mac_address" in attrs and attrs["mac_address"] != port.mac_address:
                mac = ipam.validate_mac(attrs["mac_address"])
                try:
                    # begin_nested() flushes what is pending first: change the MAC inside the
                    # savepoint so that a clash is caught here, not by the outer transaction.
                    with session.begin_nested():
                        port.mac_address = mac
                        session.flush()
                except IntegrityError:
                    raise MacAddressInUse(f"The mac address {attrs['mac_address']} is in use "
                                          f"on network {net.id}.") from None
            released: set[tuple[str, str]] = set()
            if "mac_address" in attrs and "fixed_ips" not in attrs:
                released = self._readdress_auto(session, net, port)
            if "fixed_ips" in attrs:
                before = {(a.subnet_id, a.ip_address) for a in port.fixed_ips}
                for alloc in list(port.fixed_ips):
                    session.delete(alloc)
                session.flush()
                port.fixed_ips = []
                self._allocate(session, net, port, attrs["fixed_ips"])
                session.flush()
                released = before - {(subnet_id, ip) for subnet_id, ip in session.execute(
                    select(IpAllocation.subnet_id, IpAllocation.ip_address)
                    .where(IpAllocation.port_id == port.id))}
            if "extra_dhcp_opts" in attrs:
                _set_extra_dhcp_opts(port, attrs["extra_dhcp_opts"])
            port.revision_number += 1
            port.updated_at = utcnow()
            bump(net)
            if written:
                port.dhcp_revision = net.revision_number
            if follows_wiring(port.device_owner):
                statuses.refresh_port(session, port)
            elif rebound:
                port.status = _initial_status(port.device_owner, port.binding_host_id)
            self.release_addresses(session, net, released)
            events.record(session, "port.update", "port", port.id, net.id)
            session.flush()
            session.refresh(port)
            return self._view(port)

        return self.db.run(work)

    def delete(self, port_id: str, project_id: str | None) -> None:
        def work(session: Session) -> None:
            port = load_port(session, port_id, project_id)
            net = load_network(session, port.network_id, None, lock=True)
            bump(net)
            self.release_addresses(session, net,
                                   {(a.subnet_id, a.ip_address) for a in port.fixed_ips})
            events.record(session, "port.delete", "port", port.id, net.id)
            session.delete(port)

        self.db.run(work)
