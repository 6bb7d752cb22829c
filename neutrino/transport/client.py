"""The one interface agents use to talk to the server, whatever the driver underneath."""
from __future__ import annotations

from typing import Protocol

from neutrino.transport.messages import (
    AgentState,
    DeviceList,
    DhcpPortRequest,
    EventBatch,
    L2HostState,
    NetworkApplied,
    NetworkInfo,
    NetworkRef,
    PortInfo,
    ReportResult,
)


class TransportError(Exception):
    """The server could not be reached or did not answer in time; retry later."""


class AgentRefused(Exception):
    """The server refused the call (bad credentials, bad request); retrying will not help."""


class AgentServerClient(Protocol):
    def report_state(self, state: AgentState, timeout: float | None = None) -> ReportResult:
        """Report the agent's state; `timeout` (s) overrides the client's for this call."""
        ...

    def get_active_networks(self, host: str) -> list[NetworkRef]: ...

    def get_network_info(self, host: str, network_id: str) -> NetworkInfo | None:
        """Full state of a network hosted by `host`; None once it is no longer hosted there."""
        ...

    def create_dhcp_port(self, request: DhcpPortRequest) -> PortInfo:
        """Create the DHCP port of request.device_id, or return the existing one."""
        ...

    def update_dhcp_port(self, port_id: str, request: DhcpPortRequest) -> PortInfo: ...

    def release_dhcp_port(self, network_id: str, device_id: str, host: str) -> None: ...

    def dhcp_ready_on_ports(self, port_ids: list[str]) -> None: ...

    def networks_applied(self, host: str, networks: list[NetworkApplied]) -> None:
        """Confirm which network revisions `host`'s DHCP agent now serves (or tore down)."""
        ...

    def update_device_list(self, host: str, devices: DeviceList) -> None:
        """Tell the server which ports bound to `host` its L2 agent wired or unplugged."""
        ...

    def wait_events(self, host: str, after: int, timeout: float) -> EventBatch:
        """Events after revision `after` for `host`, waiting up to `timeout` s for the first."""
        ...

    def get_l2_state(self, host: str) -> L2HostState: ...

    def close(self) -> None: ...
