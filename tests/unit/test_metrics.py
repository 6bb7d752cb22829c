"""The metrics' pure parts with plain data: fleet gauges and lag from a FleetSummary, the
agent's scrape-time gauges, bounded labels, the options that turn listeners on."""
from __future__ import annotations

from datetime import datetime

import pytest
from prometheus_client import generate_latest

from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.metrics import AgentMetrics, Served, served_families
from neutrino.agent.settings import load_dhcp_agent_settings
from neutrino.config import SERVER_OPTS, ConfigError, IniFiles, load_options
from neutrino.metrics.exposition import Exposition
from neutrino.metrics.instruments import MAX_CURSOR_HOSTS, ServerMetrics
from neutrino.neutron_names import AGENT_TYPE_DHCP, AGENT_TYPE_LINUXBRIDGE
from neutrino.services import binding_changes
from neutrino.services.fleet import AgentLoad, FleetSummary
from tests.support.scrape import parse, total, value

NOW = datetime(2026, 1, 1, 12, 0, 0)


def agent(host: str, kind: str = AGENT_TYPE_DHCP, alive: bool = True, admin: bool = True,
          networks: int = 0, age: float = 1.0) -> AgentLoad:
    return AgentLoad(id=f"id-{kind[:2]}-{host}", agent_type=kind, host=host,
                     availability_zone="nova", admin_state_up=admin, alive=alive,
                     heartbeat_age=age, networks=networks)


def summary(*agents: AgentLoad, head: int = 50) -> FleetSummary:
    return FleetSummary(at=NOW, agents=list(agents), dhcp_networks=7, networks_at_risk=2,
                        networks_unserved=1, dhcp_agents_per_network=2, event_head=head)


def scraped(fleet: FleetSummary, metrics: ServerMetrics | None = None) -> dict:  # type: ignore[type-arg]
    metrics = metrics or ServerMetrics()
    return parse(generate_latest(Exposition(metrics.source, lambda: fleet)).decode())


def test_fleet_gauges_count_agents_in_every_state_and_per_agent() -> None:
    samples = scraped(summary(agent("a", networks=3), agent("b", alive=False, networks=4),
                              agent("a", kind=AGENT_TYPE_LINUXBRIDGE, admin=False),
                              agent("c", age=80.5)))
    assert value(samples, "neutrino_agents", agent_type=AGENT_TYPE_DHCP, alive="true",
                 admin_state_up="true") == 2
    assert value(samples, "neutrino_agents", agent_type=AGENT_TYPE_DHCP, alive="false",
                 admin_state_up="true") == 1
    # Every state of both types is a series, 0 included: alerts need them before a death.
    assert value(samples, "neutrino_agents", agent_type=AGENT_TYPE_LINUXBRIDGE,
                 alive="false", admin_state_up="false") == 0
    assert total(samples, "neutrino_agents") == 4
    assert value(samples, "neutrino_agent_alive", agent_type=AGENT_TYPE_DHCP, host="b") == 0
    assert value(samples, "neutrino_agent_heartbeat_age_seconds", agent_type=AGENT_TYPE_DHCP,
                 host="c") == 80.5
    assert value(samples, "neutrino_dhcp_agent_networks", host="b") == 4
    # L2 agents host no networks: no series for them.
    assert total(samples, "neutrino_dhcp_agent_networks") == 7
    assert (value(samples, "neutrino_dhcp_networks"),
            value(samples, "neutrino_dhcp_networks_at_risk"),
            value(samples, "neutrino_dhcp_networks_unserved"),
            value(samples, "neutrino_dhcp_agents_per_network"),
            value(samples, "neutrino_event_log_head_revision")) == (7, 2, 1, 2, 50)


def test_lag_is_head_minus_cursor_for_registered_dhcp_agents_only() -> None:
    metrics = ServerMetrics()
    metrics.events_read("a", 45)
    metrics.events_read("b", 50)
    metrics.events_read("gone", 1)  # no such agent (deleted, or a made-up host)
    metrics.events_read("a", 47)  # the last read counts
    samples = scraped(summary(agent("a"), agent("b"), agent("c")), metrics)
    assert value(samples, "neutrino_agent_event_lag_revisions", host="a") == 3
    assert value(samples, "neutrino_agent_event_lag_revisions", host="b") == 0
    assert value(samples, "neutrino_agent_event_lag_revisions", host="c") is None  # not heard
    assert not any("gone" in str(key) or "cursor" in key[0] for key in samples)


def test_cursors_are_kept_for_a_bounded_number_of_hosts() -> None:
    metrics = ServerMetrics()
    for i in range(MAX_CURSOR_HOSTS + 5):
        metrics.events_read(f"h{i}", i)
    assert len(metrics._hosts) == MAX_CURSOR_HOSTS


def test_binding_changes_are_counted_by_known_reasons_only() -> None:
    metrics = ServerMetrics()
    metrics.binding_changed({"failover": 2})
    samples = scraped(summary(), metrics)
    name = "neutrino_dhcp_binding_changes_total"
    assert value(samples, name, reason="failover") == 2
    assert {r: value(samples, name, reason=r) for r in binding_changes.REASONS
            if r != "failover"} == dict.fromkeys(set(binding_changes.REASONS) - {"failover"},
                                                 0.0)
    with pytest.raises(ValueError, match="not one of"):
        binding_changes.note(None, "whim")  # type: ignore[arg-type]


def test_agent_gauges_read_dnsmasq_and_leases_files() -> None:
    paths = {n: ConfPaths.for_network("/confs", n) for n in ("n1", "n2")}
    files = {paths["n1"].leases: "0 fa:16:3e:00:00:01 10.0.0.3 host-10-0-0-3 *\n"
                                 "1800000000 fa:16:3e:00:00:02 10.0.0.4 * 01:fa:16:3e:00:00:02\n"
                                 "duid 00:01:00:01\n"}

    def running(p: ConfPaths) -> int | None:
        return 123 if p == paths["n1"] else None

    metrics = AgentMetrics()
    metrics.dnsmasq_changed("start")
    metrics.dnsmasq_changed("died")
    metrics.dnsmasq_changed("reload")
    families = list(served_families(Served(paths, 42), running, lambda p: files.get(p, "")))
    samples = parse(generate_latest(metrics.registry).decode()) | {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}
    assert value(samples, "neutrino_dnsmasq_processes") == 1
    assert value(samples, "neutrino_dhcp_agent_networks_served") == 2
    assert value(samples, "neutrino_dhcp_leases", network_id="n1") == 2
    assert value(samples, "neutrino_dhcp_leases", network_id="n2") == 0
    assert value(samples, "neutrino_dhcp_agent_event_revision") == 42
    assert value(samples, "neutrino_dnsmasq_starts_total") == 1
    assert value(samples, "neutrino_dnsmasq_restarts_total", cause="died") == 1
    assert value(samples, "neutrino_dnsmasq_restarts_total", cause="changed") == 0
    assert value(samples, "neutrino_dnsmasq_reloads_total") == 1


def test_metrics_listeners_are_off_by_default() -> None:
    assert load_options(SERVER_OPTS, IniFiles())["metrics_bind"] is None
    assert load_dhcp_agent_settings([], {
        "host": "h", "state_path": "/tmp/x",
        "transport_url": "http://agent:pw@127.0.0.1:9696/"}).metrics_port == 0


@pytest.mark.parametrize("raw, parsed", [("127.0.0.1:9697", ("127.0.0.1", 9697)),
                                         ("[::1]:9697", ("::1", 9697)),
                                         ("0.0.0.0:1", ("0.0.0.0", 1))])
def test_metrics_bind_takes_an_address_and_port(raw: str, parsed: tuple[str, int]) -> None:
    files = IniFiles.from_dict({"DEFAULT": {"metrics_bind": raw}})
    assert load_options(SERVER_OPTS, files)["metrics_bind"] == parsed


@pytest.mark.parametrize("raw", ["9697", "localhost:9697", "127.0.0.1:0", "127.0.0.1:http",
                                 "::1:9697"])
def test_metrics_bind_refuses_what_is_no_address_and_port(raw: str) -> None:
    files = IniFiles.from_dict({"DEFAULT": {"metrics_bind": raw}})
    with pytest.raises(ConfigError, match=r"metrics_bind .* host:port"):
        load_options(SERVER_OPTS, files)
