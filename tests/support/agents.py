"""Test agents: report state like a real agent would, over the real HTTP transport."""
from __future__ import annotations

import threading

from neutrino.agent_protocol.messages import AgentState, ReportResult
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE
from neutrino.transport.client import AgentServerClient
from neutrino.transport.http_client import HttpAgentClient
from tests.support.server import USERS, RunningServer


def agent_client(server: RunningServer) -> HttpAgentClient:
    name, password, project = USERS["agent"]
    return HttpAgentClient(server.url, name, password, project)


def dhcp_state(host: str, start: bool = False, networks: int = 0,
               zone: str = "nova") -> AgentState:
    return AgentState(
        agent_type=AGENT_TYPE_DHCP, binary="neutrino-dhcp-agent", host=host,
        topic="dhcp_agent", start_flag=start, availability_zone=zone,
        configurations={"networks": networks, "subnets": 0, "ports": 0,
                        "dhcp_driver": "neutrino.agent.dnsmasq.Dnsmasq",
                        "use_namespaces": True, "dhcp_lease_time": 86400})


def l2_state(host: str, start: bool = False, mappings: dict[str, str] | None = None,
             vxlan: bool = True) -> AgentState:
    """A Linux bridge agent's report; by default it reaches physnet1 and VXLAN, as the
    seed's agents do, so that the DHCP agent on its host may be scheduled."""
    mappings = {"physnet1": "eth0"} if mappings is None else mappings
    configurations: dict[str, object] = {**mappings, "interface_mappings": mappings,
                                         "devices": 0}
    if vxlan:
        configurations.update(tunneling_ip="192.0.2.10", tunnel_types=["vxlan"],
                              l2_population=False)
    return AgentState(
        agent_type=AGENT_TYPE_LINUXBRIDGE, binary="neutrino-linuxbridge-agent", host=host,
        topic="N/A", start_flag=start, configurations=configurations)


def register(client: AgentServerClient, host: str) -> tuple[ReportResult, ReportResult]:
    """Register a host's Linux bridge agent and DHCP agent; returns (l2, dhcp)."""
    return (client.report_state(l2_state(host, start=True)),
            client.report_state(dhcp_state(host, start=True)))


class Hosts:
    """Keeps chosen hosts' L2 and DHCP agents heartbeating from a thread (a context)."""

    def __init__(self, server: RunningServer, period: float = 0.3) -> None:
        self.client = agent_client(server)
        self.period = period
        self.states: dict[str, list[AgentState]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ids: dict[str, str] = {}

    def start(self, host: str, l2: AgentState | None, zone: str = "nova") -> str:
        """Register the host's L2 agent (if any) first, then its DHCP agent in `zone`."""
        dhcp = dhcp_state(host, zone=zone)
        states = ([l2] if l2 is not None else []) + [dhcp]
        if l2 is not None:
            self.client.report_state(l2.model_copy(update={"start_flag": True}))
        self.ids[host] = self.client.report_state(
            dhcp.model_copy(update={"start_flag": True})).agent_id
        with self.lock:
            self.states[host] = states
        return self.ids[host]

    def silence(self, host: str) -> None:
        with self.lock:
            self.states.pop(host)

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            with self.lock:
                states = [s for group in self.states.values() for s in group]
            for state in states:
                self.client.report_state(state)

    def __enter__(self) -> Hosts:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)
