"""GET /metrics on a real server: admin only, parsed by prometheus_client's parser; the
fleet gauges, binding-change counters, API latency by route template and agents' lag."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.agents import agent_client, register
from tests.support.databases import fresh_database
from tests.support.scrape import parse, scrape, total, value
from tests.support.server import RunningServer, body_of, running_server, settings_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with fresh_database("sqlite", str(tmp_path_factory.mktemp("db"))) as url:
        settings = settings_for(url, str(tmp_path_factory.mktemp("state")),
                                agent_down_time=3600, dhcp_agents_per_network=1)
        with running_server(settings, background=False) as running:
            yield running


def _metrics(server: RunningServer) -> dict:  # type: ignore[type-arg]
    return scrape(server.url + "/metrics", server.tokens["admin"])


def test_metrics_need_an_admin_token(server: RunningServer) -> None:
    assert httpx.get(server.url + "/metrics").status_code == 401
    bad = httpx.get(server.url + "/metrics", headers={"X-Auth-Token": "nonsense"})
    assert bad.status_code == 401
    for who in ("member", "agent"):
        with server.client(who) as c:
            refused = c.get("/metrics")
        assert refused.status_code == 403, refused.text
        assert "admin" in refused.json()["NeutronError"]["message"]
        assert "neutrino_" not in refused.text


def test_fleet_gauges_and_binding_changes(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    (_, a), (_, b) = register(client, f"ma-{tag}"), register(client, f"mb-{tag}")
    before = _metrics(server)
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": tag}}))["network"]
        body_of(c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"],
                                                         "cidr": "10.9.0.0/24"}}))
        hosting = body_of(c.get(f"/v2.0/networks/{net['id']}/dhcp-agents"))["agents"]
        first = hosting[0]["id"]
        other = b.agent_id if first == a.agent_id else a.agent_id
        assert c.delete(f"/v2.0/agents/{first}/dhcp-networks/{net['id']}").status_code == 204
        assert c.post(f"/v2.0/agents/{other}/dhcp-networks",
                      json={"network_id": net["id"]}).status_code == 201
    after = _metrics(server)
    changes = "neutrino_dhcp_binding_changes_total"
    for reason, grew in (("scheduled", 1), ("removed", 1), ("added", 1), ("failover", 0)):
        assert value(after, changes, reason=reason) == \
            value(before, changes, reason=reason) + grew, reason  # type: ignore[operator]
    dhcp = "DHCP agent"
    assert value(after, "neutrino_agents", agent_type=dhcp, alive="true",
                 admin_state_up="true") == 2
    assert value(after, "neutrino_agents", agent_type=dhcp, alive="false",
                 admin_state_up="true") == 0
    hosts = {host: value(after, "neutrino_dhcp_agent_networks", host=host)
             for host in (f"ma-{tag}", f"mb-{tag}")}
    assert sorted(hosts.values()) == [0, 1]
    assert value(after, "neutrino_agent_alive", agent_type=dhcp, host=f"ma-{tag}") == 1
    age = value(after, "neutrino_agent_heartbeat_age_seconds", agent_type=dhcp,
                host=f"ma-{tag}")
    assert age is not None and 0 <= age < 60
    assert value(after, "neutrino_dhcp_networks") == 1
    assert value(after, "neutrino_dhcp_networks_at_risk") == 0
    assert value(after, "neutrino_dhcp_agents_per_network") == 1


def test_api_latency_is_labelled_by_route_template(server: RunningServer) -> None:
    with server.client() as c:
        net = body_of(c.post("/v2.0/networks", json={"network": {"name": "lat"}}))["network"]
        body_of(c.get(f"/v2.0/networks/{net['id']}"))
        assert c.get(f"/v2.0/networks/{uuid.uuid4()}").status_code == 404
        assert c.get("/no/such/path").status_code == 404
        text = c.get("/metrics").text
    samples = parse(text)
    hist = "neutrino_api_request_duration_seconds_count"
    route = "/v2.0/networks/{item_id}"  # the resource routers name every id so
    assert total(samples, hist, method="GET", route=route, status="200") >= 1
    assert total(samples, hist, method="GET", route=route, status="404") >= 1
    assert total(samples, hist, route="unmatched", status="404") >= 1
    assert total(samples, hist, method="POST", route="/v2.0/networks", status="201") >= 1
    # No id ever becomes a label value: bounded cardinality.
    assert net["id"] not in text


def test_agent_lag_is_the_head_past_its_cursor(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    register(client, f"lag-{tag}")
    head = client.wait_events(f"lag-{tag}", -1, 0).latest_revision
    client.wait_events(f"lag-{tag}", head, 0)
    samples = _metrics(server)
    assert value(samples, "neutrino_agent_event_lag_revisions", host=f"lag-{tag}") == \
        value(samples, "neutrino_event_log_head_revision") - head  # type: ignore[operator]
    with server.client() as c:  # an event the agent has not read yet: its lag grows
        body_of(c.post("/v2.0/networks", json={"network": {"name": tag}}))
    later = _metrics(server)
    assert value(later, "neutrino_agent_event_lag_revisions", host=f"lag-{tag}") >= \
        value(samples, "neutrino_agent_event_lag_revisions", host=f"lag-{tag}")  # type: ignore[operator]
    # Hosts that are no registered DHCP agent get no series, whatever they claim.
    client.wait_events(f"nobody-{tag}", 0, 0)
    assert not any(f"nobody-{tag}" in str(k) for k in _metrics(server))
