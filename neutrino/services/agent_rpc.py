"""What agents ask of the server: their networks, full network state, DHCP ports, L2 state."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from neutrino.agent_protocol.messages import (
    BoundDevice,
    DeviceList,
    DhcpPortRequest,
    EventBatch,
    L2HostState,
    NetworkApplied,
    NetworkInfo,
    NetworkRef,
    PortInfo,
    TunnelEndpoint,
)
from neutrino.db.models import Agent, Network, NetworkDhcpAgentBinding, Port
from neutrino.db.session import Database
from neutrino.errors import NetworkNotFound
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE, DEVICE_OWNER_DHCP
from neutrino.port_status import COMPUTE_PREFIX
from neutrino.services import events, quarantine, statuses
from neutrino.services.moves import Moves
from neutrino.services.networks import bump, load_network
from neutrino.services.ports import Ports
from neutrino.services.views import port_view, subnet_view


def _network_info(net: Network, ports: list[Port], dns_domain: str) -> NetworkInfo:
    seg = net.segment
    return NetworkInfo.model_validate({
        "id": net.id, "name": net.name, "project_id": net.project_id,
        "admin_state_up": net.admin_state_up, "mtu": net.mtu,
        "revision_number": net.revision_number,
        "provider:network_type": seg.network_type if seg else "local",
        "provider:physical_network": seg.physical_network if seg else None,
        "provider:segmentation_id": (seg.segmentation_id or None) if seg else None,
        "subnets": [subnet_view(s) for s in net.subnets],
        "ports": [port_view(p, dns_domain) for p in ports],
    })


def _ignore_cursor(host: str, after: int) -> None:
    return None


class AgentRpc:
    def __init__(self, db: Database, ports: Ports, moves: Moves,
                 on_events_read: Callable[[str, int], None] = _ignore_cursor) -> None:
        self.db = db
        self.ports = ports
        self.moves = moves
        # Told (host, after) of every read of the event log: where that agent's cursor is
        # (the server's metrics derive each agent's lag from it).
        self.on_events_read = on_events_read

    def events(self, host: str, after: int) -> EventBatch:
        """The event log after `after`, as `host` sees it (services/events.py fetch)."""
        if after >= 0:
            self.on_events_read(host, after)
        with self.db.session() as session:
            return events.fetch(session, host, after)

    def _dhcp_agent_id(self, session: Session, host: str) -> str | None:
        return session.scalar(select(Agent.id).where(Agent.agent_type == AGENT_TYPE_DHCP,
                                                     Agent.host == host))

    def active_networks(self, host: str) -> list[NetworkRef]:
        with self.db.session() as session:
            agent_id = self._dhcp_agent_id(session, host)
            if agent_id is None:
                return []
            rows = session.execute(
                select(Network.id, Network.revision_number)
                .join(NetworkDhcpAgentBinding, NetworkDhcpAgentBinding.network_id == Network.id)
                .where(NetworkDhcpAgentBinding.dhcp_agent_id == agent_id,
                       Network.admin_state_up.is_(True))).all()
            return [NetworkRef(id=i, revision_number=r) for i, r in rows]

    def network_info(self, host: str, network_id: str) -> NetworkInfo:
        with self.db.session() as session:
            agent_id = self._dhcp_agent_id(session, host)
            hosted = agent_id is not None and session.get(
                NetworkDhcpAgentBinding, (network_id, agent_id)) is not None
            if not hosted:
                raise NetworkNotFound(network_id, f"Network {network_id} is not hosted by the "
                                                  f"DHCP agent on {host}.")
            net = load_network(session, network_id)
            ports = list(session.scalars(select(Port).where(Port.network_id == network_id)
                                         .options(selectinload(Port.fixed_ips))
                                         .order_by(Port.created_at)))
            return _network_info(net, ports, self.ports.settings.dns_domain)

    def create_dhcp_port(self, request: DhcpPortRequest) -> PortInfo:
        def work(session: Session) -> dict[str, Any]:
            net = load_network(session, request.network_id, lock=True)
            existing = session.scalars(select(Port).where(
                Port.network_id == net.id, Port.device_id == request.device_id)).first()
            if existing is not None:
                if existing.binding_host_id != request.host:
                    existing.binding_host_id = request.host
                    existing.revision_number += 1
                    bump(net)
                    events.record(session, "port.update", "port", existing.id, net.id)
                session.flush()
                session.refresh(existing)
                return port_view(existing, self.ports.settings.dns_domain)
            wanted = request.subnet_ids or [s.id for s in net.subnets if s.enable_dhcp]
            fixed_ips = [{"subnet_id": sid} for sid in wanted]
            attrs = {"network_id": net.id, "device_id": request.device_id,
                     "device_owner": DEVICE_OWNER_DHCP, "binding:host_id": request.host,
                     "fixed_ips": fixed_ips, "project_id": net.project_id,
                     "name": ""}
            if request.mac_address:
                attrs["mac_address"] = request.mac_address
            return self.ports.create_in(session, None, attrs)

        return PortInfo.model_validate(self.db.run(work))

    def update_dhcp_port(self, port_id: str, request: DhcpPortRequest) -> PortInfo:
        attrs: dict[str, Any] = {"binding:host_id": request.host}
        if request.subnet_ids:
            attrs["fixed_ips"] = [{"subnet_id": sid} for sid in request.subnet_ids]
        return PortInfo.model_validate(self.ports.update(port_id, None, attrs))

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        def work(session: Session) -> None:
            port = session.scalars(select(Port).where(Port.network_id == network_id,
                                                      Port.device_id == device_id)
                                   .options(selectinload(Port.fixed_ips))).first()
            if port is None:
                return
            net = session.scalars(select(Network).where(Network.id == network_id)
                                  .with_for_update()).first()
            if net is not None:
                bump(net)
                self.ports.release_addresses(
                    session, net, {(a.subnet_id, a.ip_address) for a in port.fixed_ips})
            events.record(session, "port.delete", "port", port.id, network_id)
            session.delete(port)

        self.db.run(work)

    def networks_applied(self, host: str, networks: list[NetworkApplied]) -> None:
        """A DHCP agent's confirmations: settle the quarantine waits they cover, finish
        the moves to it that they make ready."""
        if not networks:
            return

        def work(session: Session) -> str | None:
            agent_id = self._dhcp_agent_id(session, host)
            if agent_id is not None:  # an unknown agent is waited for by nothing
                quarantine.settle(session, agent_id, networks)
                # What it loaded may be what a compute port waited for to turn ACTIVE.
                statuses.refresh_networks(session, [n.network_id for n in networks])
            return agent_id

        agent_id = self.db.run(work)
        if agent_id is not None:
            # Transactions of their own, after this one: each locks its network first.
            self.moves.after_confirmations(agent_id, [n.network_id for n in networks
                                                      if n.serving])

    def update_device_list(self, host: str, devices: DeviceList) -> None:
        """An L2 agent's report of the ports it wired and unplugged (Neutron's
        update_device_list)."""
        if devices.devices_up or devices.devices_down:
            self.db.run(lambda session: statuses.devices_wired(
                session, host, devices.devices_up, devices.devices_down))
        if devices.devices_up:
            # A wired DHCP port may be what a move to this host's DHCP agent waited for.
            self.moves.after_wiring(host)

    def ports_ready(self, port_ids: list[str]) -> None:
        def work(session: Session) -> None:
            # Compute ports follow wiring and the agents' confirmations instead
            # (services/statuses.py): one DHCP agent's word is not all of it.
            for port in session.scalars(select(Port).where(
                    Port.id.in_(port_ids), ~Port.device_owner.startswith(COMPUTE_PREFIX))):
                port.status = "ACTIVE"

        if port_ids:
            self.db.run(work)

    def l2_state(self, host: str) -> L2HostState:
        with self.db.session() as session:
            latest = events.latest_revision(session)
            rows = session.scalars(
                select(Port).where(Port.binding_host_id == host)
                .order_by(Port.created_at)).all()
            nets = {n.id: n for n in session.scalars(
                select(Network).where(Network.id.in_({p.network_id for p in rows}))
                .options(selectinload(Network.segment)))}
            devices = []
            for port in rows:
                net = nets[port.network_id]
                seg = net.segment
                devices.append(BoundDevice(
                    port_id=port.id, network_id=net.id, mac_address=port.mac_address,
                    device_owner=port.device_owner,
                    wired=bool(port.wired_host) and port.wired_host == host,
                    network_type=seg.network_type if seg else "local",
                    physical_network=seg.physical_network if seg else None,
                    segmentation_id=(seg.segmentation_id or None) if seg else None,
                    mtu=net.mtu))
            endpoints = []
            for agent in session.scalars(select(Agent).where(
                    Agent.agent_type == AGENT_TYPE_LINUXBRIDGE, Agent.host != host)):
                conf = agent.configurations or {}
                if conf.get("tunneling_ip"):
                    endpoints.append(TunnelEndpoint(host=agent.host, ip=conf["tunneling_ip"],
                                                    tunnel_types=conf.get("tunnel_types", [])))
            return L2HostState(devices=devices, tunnel_endpoints=endpoints,
                               latest_revision=latest)


