"""An in-memory server behind the AgentServerClient protocol, for agent tests and benches."""
from __future__ import annotations

import ipaddress
import threading
import uuid
from typing import Any

from neutrino.transport.client import TransportError
from neutrino.transport.messages import (
    DEVICE_OWNER_DHCP,
    AgentState,
    BoundDevice,
    DeviceList,
    DhcpPortRequest,
    Event,
    EventBatch,
    FixedIp,
    L2HostState,
    NetworkApplied,
    NetworkInfo,
    NetworkRef,
    PortInfo,
    ReportResult,
    SubnetInfo,
    TunnelEndpoint,
)


def make_network(network_id: str, cidr: str = "10.0.1.0/24", gateway: str | None = "",
                 mtu: int = 1500, network_type: str = "vxlan", segmentation_id: int = 1001,
                 subnet_id: str | None = None) -> NetworkInfo:
    """A network with one DHCP-enabled subnet; gateway "" means the first address."""
    net = ipaddress.ip_network(cidr)
    gw = str(net.network_address + 1) if gateway == "" else gateway
    subnet = SubnetInfo(id=subnet_id or f"{network_id}-sub", network_id=network_id, cidr=cidr,
                        gateway_ip=gw)
    return NetworkInfo.model_validate({
        "id": network_id, "name": network_id, "mtu": mtu, "subnets": [subnet.model_dump()],
        "provider:network_type": network_type, "provider:segmentation_id": segmentation_id})


class FakeServer:
    """Holds networks, hosting and an event log; thread-safe like the real server."""

    def __init__(self) -> None:
        self.networks: dict[str, NetworkInfo] = {}
        self.hosting: dict[str, set[str]] = {}
        self.events: list[Event] = []
        self.reports: list[AgentState] = []
        self.released: list[tuple[str, str, str]] = []
        self.ready: list[str] = []
        # (host, confirmation) in the order networks_applied delivered them.
        self.applied: list[tuple[str, NetworkApplied]] = []
        self.tunnel_endpoints: list[TunnelEndpoint] = []
        # port id -> the host whose L2 agent reported it wired (update_device_list).
        self.wired: dict[str, str] = {}
        self.device_reports: list[tuple[str, DeviceList]] = []
        self.reachable = True
        self.info_calls = 0
        self._cond = threading.Condition()
        self._mac = 0x10
        self._ports_made = 0

    # ---- test-side controls ---------------------------------------------------------

    def _event(self, name: str, resource: str, resource_id: str, network_id: str | None,
               host: str | None = None) -> None:
        with self._cond:
            self.events.append(Event(revision=len(self.events) + 1, event=name,
                                     resource=resource, resource_id=resource_id,
                                     network_id=network_id, host=host))
            self._cond.notify_all()

    def add_network(self, network: NetworkInfo, hosts: list[str]) -> None:
        with self._cond:
            self.networks[network.id] = network
            for host in hosts:
                self.hosting.setdefault(host, set()).add(network.id)
        self._event("network.create", "network", network.id, network.id)

    def new_mac(self) -> str:
        with self._cond:
            self._mac += 1
            value = self._mac
        return f"fa:16:3e:{value >> 16 & 0xFF:02x}:{value >> 8 & 0xFF:02x}:{value & 0xFF:02x}"

    def add_port(self, network_id: str, port_id: str, ip: str | None = None,
                 mac: str | None = None, host: str = "") -> PortInfo:
        with self._cond:
            net = self.networks[network_id]
            subnet = net.subnets[0]
            port = PortInfo.model_validate({
                "id": port_id, "network_id": network_id, "mac_address": mac or self.new_mac(),
                "fixed_ips": [{"subnet_id": subnet.id,
                               "ip_address": ip or self._free_ip(net)}],
                "device_owner": "compute:nova", "binding:host_id": host})
            net.ports.append(port)
            net.revision_number += 1  # as the real server: a change inside bumps the network
        self._event("port.create", "port", port_id, network_id)
        return port

    def delete_port(self, network_id: str, port_id: str) -> None:
        with self._cond:
            net = self.networks[network_id]
            net.ports = [p for p in net.ports if p.id != port_id]
            net.revision_number += 1
        self._event("port.delete", "port", port_id, network_id)

    def update_network(self, network: NetworkInfo) -> None:
        with self._cond:
            self.networks[network.id] = network
        self._event("network.update", "network", network.id, network.id)

    def unhost(self, network_id: str, host: str) -> None:
        with self._cond:
            self.hosting.get(host, set()).discard(network_id)
        self._event("agent.network_removed", "agent", "agent-" + host, network_id, host)

    def _free_ip(self, net: NetworkInfo) -> str:
        subnet = ipaddress.ip_network(net.subnets[0].cidr)
        used = {f.ip_address for p in net.ports for f in p.fixed_ips}
        used.add(net.subnets[0].gateway_ip or "")
        for addr in subnet.hosts():
            if str(addr) not in used:
                return str(addr)
        raise RuntimeError("subnet full")

    def _next_port(self) -> int:
        self._ports_made += 1
        return self._ports_made

    def _check(self) -> None:
        if not self.reachable:
            raise TransportError("fake server is down")

    # ---- AgentServerClient ----------------------------------------------------------

    def report_state(self, state: AgentState, timeout: float | None = None) -> ReportResult:
        self._check()
        with self._cond:
            self.reports.append(state)
        return ReportResult(agent_id=str(uuid.uuid5(uuid.NAMESPACE_DNS,
                                                    state.host + state.agent_type)))

    def get_active_networks(self, host: str) -> list[NetworkRef]:
        self._check()
        with self._cond:
            return [NetworkRef(id=n, revision_number=self.networks[n].revision_number)
                    for n in sorted(self.hosting.get(host, set()))]

    def get_network_info(self, host: str, network_id: str) -> NetworkInfo | None:
        self._check()
        with self._cond:
            self.info_calls += 1
            if network_id not in self.hosting.get(host, set()):
                return None
            return self.networks[network_id].model_copy(deep=True)

    def create_dhcp_port(self, request: DhcpPortRequest) -> PortInfo:
        self._check()
        with self._cond:
            net = self.networks[request.network_id]
            for port in net.ports:
                if port.device_id == request.device_id:
                    return port
            subnet = net.subnets[0]
            port = PortInfo.model_validate({
                # Network ids in tests start with the run's prefix; keeping it in the port id
                # keeps it in the tap name, and a counter keeps tap names unique.
                "id": f"{request.network_id[:6]}d{self._next_port():04x}-{uuid.uuid4().hex}",
                "network_id": net.id, "mac_address": self.new_mac(),
                "fixed_ips": [FixedIp(subnet_id=subnet.id, ip_address=self._free_ip(net))
                              .model_dump()],
                "device_owner": DEVICE_OWNER_DHCP, "device_id": request.device_id,
                "binding:host_id": request.host})
            net.ports.append(port)
            return port

    def update_dhcp_port(self, port_id: str, request: DhcpPortRequest) -> PortInfo:
        self._check()
        with self._cond:
            net = self.networks[request.network_id]
            return next(p for p in net.ports if p.id == port_id)

    def release_dhcp_port(self, network_id: str, device_id: str, host: str) -> None:
        self._check()
        with self._cond:
            self.released.append((network_id, device_id, host))
            net = self.networks.get(network_id)
            if net is not None:
                net.ports = [p for p in net.ports if p.device_id != device_id]

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self._check()
        with self._cond:
            self.ready.extend(port_ids)

    def networks_applied(self, host: str, networks: list[NetworkApplied]) -> None:
        self._check()
        with self._cond:
            self.applied.extend((host, n.model_copy()) for n in networks)

    def applied_revision(self, host: str, network_id: str) -> int | None:
        """The last revision `host` confirmed serving for the network (None: none or torn down)."""
        with self._cond:
            for who, item in reversed(self.applied):
                if who == host and item.network_id == network_id:
                    return item.revision_number if item.serving else None
        return None

    def wait_events(self, host: str, after: int, timeout: float) -> EventBatch:
        self._check()
        if after < 0:  # the server's "where is the head?" question
            with self._cond:
                return EventBatch(events=[], latest_revision=len(self.events))
        with self._cond:
            def pending() -> list[Event]:
                return [e for e in self.events[after:] if e.host in (None, host)]
            self._cond.wait_for(lambda: bool(pending()) or not self.reachable, timeout)
            self._check()
            return EventBatch(events=pending(), latest_revision=len(self.events))

    def update_device_list(self, host: str, devices: DeviceList) -> None:
        self._check()
        with self._cond:
            self.device_reports.append((host, devices.model_copy()))
            bound = {p.id: p.binding_host_id for n in self.networks.values() for p in n.ports}
            for port_id in devices.devices_up:
                if bound.get(port_id) == host:
                    self.wired[port_id] = host
            for port_id in devices.devices_down:
                if self.wired.get(port_id) == host:
                    del self.wired[port_id]

    def get_l2_state(self, host: str) -> L2HostState:
        self._check()
        with self._cond:
            devices = [
                BoundDevice(port_id=p.id, network_id=n.id, mac_address=p.mac_address,
                            device_owner=p.device_owner, wired=self.wired.get(p.id) == host,
                            network_type=n.network_type,
                            physical_network=n.physical_network,
                            segmentation_id=n.segmentation_id, mtu=n.mtu)
                for n in self.networks.values() for p in n.ports
                if p.binding_host_id == host]
            return L2HostState(devices=devices, tunnel_endpoints=list(self.tunnel_endpoints),
                               latest_revision=len(self.events))

    def close(self) -> None:
        return None


class FlakyClient:
    """A FakeServer behind calls that fail on demand, the ways real transports fail.

    `fail(method, *errors)` makes every call of `method` ("*": every method) raise the given
    errors in turn until `heal()`; long-polls are capped at `poll_cap` seconds so that the
    agent's loops stay responsive in tests.
    """

    def __init__(self, server: FakeServer, poll_cap: float = 0.2) -> None:
        self.server = server
        self.poll_cap = poll_cap
        self.calls: dict[str, int] = {}
        self.report_timeouts: list[float | None] = []
        self.poll_timeouts: list[float] = []  # what wait_events was asked for
        self._errors: dict[str, list[Exception]] = {}
        self._lock = threading.Lock()

    def fail(self, method: str, *errors: Exception) -> None:
        with self._lock:
            self._errors[method] = list(errors) or [TransportError("fake transport is down")]

    def heal(self) -> None:
        with self._lock:
            self._errors.clear()

    def count(self, method: str) -> int:
        with self._lock:
            return self.calls.get(method, 0)

    def _enter(self, method: str) -> None:
        with self._lock:
            n = self.calls.get(method, 0)
            self.calls[method] = n + 1
            errors = self._errors.get(method) or self._errors.get("*")
            if errors:
                error = errors[n % len(errors)]
                raise type(error)(*error.args)  # a fresh one: tracebacks do not pile up

    def report_state(self, state: AgentState, timeout: float | None = None) -> ReportResult:
        with self._lock:
            self.report_timeouts.append(timeout)
        self._enter("report_state")
        return self.server.report_state(state, timeout)

    def get_active_networks(self, host: str) -> list[NetworkRef]:
        self._enter("get_active_networks")
        return self.server.get_active_networks(host)

    def get_network_info(self, host: str, network_id: str) -> NetworkInfo | None:
        self._enter("get_network_info")
        return self.server.get_network_info(host, network_id)

    def create_dhcp_port(self, request: DhcpPortRequest) -> PortInfo:
        self._enter("create_dhcp_port")
        return self.server.create_dhcp_port(request)

    def update_dhcp_port(self, port_id: str, request: DhcpPortRequest) -> PortInfo:
        self._enter("update_dhcp_port")
        return self.server.update_dhcp_port(port_id, request)

    def release_dhcp_port(self, network_id: str, device_id: str, host: str) -> None:
        self._enter("release_dhcp_port")
        self.server.release_dhcp_port(network_id, device_id, host)

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None:
        self._enter("dhcp_ready_on_ports")
        self.server.dhcp_ready_on_ports(port_ids)

    def wait_events(self, host: str, after: int, timeout: float) -> EventBatch:
        with self._lock:
            self.poll_timeouts.append(timeout)
        self._enter("wait_events")
        return self.server.wait_events(host, after, min(timeout, self.poll_cap))

    def get_l2_state(self, host: str) -> L2HostState:
        self._enter("get_l2_state")
        return self.server.get_l2_state(host)

    def close(self) -> None:
        self.server.close()

    def __getattr__(self, name: str) -> Any:
        # Calls the protocol gains later (networks_applied, ...) fail on demand the same way.
        if name.startswith("_") or name == "server":
            raise AttributeError(name)
        target = getattr(self.server, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._enter(name)
            return target(*args, **kwargs)
        return call
