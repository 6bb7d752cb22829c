"""The fleet gauges of a scrape, made from a FleetSummary (pure: plain data in, metric
families out; the summary is services/fleet.py's, read when the scrape asks).

Per-agent series carry the agent's host (and type): one series per agent, bounded by the
fleet (a Neutron deployment's agents number in the thousands at most), and an operator
asks "which agent" of exactly these: load, heartbeat age, lag. Networks never are labels.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE
from neutrino.services.fleet import FleetSummary

_BOOL = {True: "true", False: "false"}


def fleet_families(summary: FleetSummary) -> Iterator[Metric]:
    """Agents by type/alive/admin state, per-agent load, heartbeat age, networks at risk."""
    agents = GaugeMetricFamily("neutrino_agents", "Agents by type, liveness and admin state.",
                               labels=["agent_type", "alive", "admin_state_up"])
    counts = summary.agent_counts()
    # The two types Neutrino's agents have, at 0 too: an alert on dead agents needs the
    # series to exist before the first one dies.
    types = sorted({AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE} | {k[0] for k in counts})
    for agent_type in types:
        for alive in (True, False):
            for admin in (True, False):
                agents.add_metric([agent_type, _BOOL[alive], _BOOL[admin]],
                                  counts.get((agent_type, alive, admin), 0))
    yield agents
    up = GaugeMetricFamily("neutrino_agent_alive", "1 while the agent's last heartbeat is at "
                           "most agent_down_time old (server time).", labels=["agent_type",
                                                                               "host"])
    age = GaugeMetricFamily("neutrino_agent_heartbeat_age_seconds", "Seconds since the "
                            "agent's last recorded heartbeat.", labels=["agent_type", "host"])
    networks = GaugeMetricFamily("neutrino_dhcp_agent_networks", "Networks bound to each "
                                 "DHCP agent.", labels=["host"])
    for agent in summary.agents:
        up.add_metric([agent.agent_type, agent.host], 1 if agent.alive else 0)
        age.add_metric([agent.agent_type, agent.host], agent.heartbeat_age)
        if agent.agent_type == AGENT_TYPE_DHCP:
            networks.add_metric([agent.host], agent.networks)
    yield from (up, age, networks)
    yield GaugeMetricFamily("neutrino_dhcp_networks", "Networks with a DHCP-enabled subnet.",
                            value=summary.dhcp_networks)
    yield GaugeMetricFamily(
        "neutrino_dhcp_networks_at_risk", "Networks with a DHCP-enabled subnet hosted by "
        "fewer alive DHCP agents than dhcp_agents_per_network.",
        value=summary.networks_at_risk)
    yield GaugeMetricFamily("neutrino_dhcp_networks_unserved", "Networks with a DHCP-enabled "
                            "subnet hosted by no alive DHCP agent.",
                            value=summary.networks_unserved)
    yield GaugeMetricFamily("neutrino_dhcp_agents_per_network", "The configured "
                            "dhcp_agents_per_network.", value=summary.dhcp_agents_per_network)
    yield GaugeMetricFamily("neutrino_event_log_head_revision", "The event log's newest "
                            "revision.", value=summary.event_head)


def lag_family(summary: FleetSummary, cursors: Mapping[str, float]) -> Metric:
    """Per DHCP agent, how many revisions the event log's head is past its cursor.

    Only agents of the fleet: a cursor of a host that is no registered DHCP agent (deleted,
    or never one) is not shown. An agent not heard reading since this server started has no
    cursor yet, and no series."""
    lag = GaugeMetricFamily("neutrino_agent_event_lag_revisions", "Event-log revisions past "
                            "the cursor each DHCP agent last read after (0: up to date).",
                            labels=["host"])
    for agent in summary.agents:
        if agent.agent_type == AGENT_TYPE_DHCP and agent.host in cursors:
            lag.add_metric([agent.host], max(0.0, summary.event_head - cursors[agent.host]))
    return lag
