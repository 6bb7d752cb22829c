"""The seed's controller-side walk-through against the real server, agents over HTTP."""
from __future__ import annotations

import uuid

from tests.support.agents import agent_client, dhcp_state, register
from tests.support.server import RunningServer
from tests.support.waiting import wait_until


def _hosts(server: RunningServer, network_id: str) -> list[str]:
    with server.client() as c:
        body = c.get(f"/v2.0/networks/{network_id}/dhcp-agents").json()
    return sorted(a["host"] for a in body["agents"])


def _net_with_subnet(server: RunningServer, name: str, cidr: str) -> str:
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": name}}).json()["network"]
        r = c.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": cidr,
                                                     "name": "sub-" + name}})
        assert r.status_code == 201, r.text
    return str(net["id"])


def test_extensions_list_the_seed_aliases(server: RunningServer) -> None:
    with server.client() as c:
        aliases = {e["alias"] for e in c.get("/v2.0/extensions").json()["extensions"]}
        assert {"agent", "agent_scheduler", "dhcp_agent_scheduler", "provider",
                "binding"} <= aliases
        assert c.get("/v2.0/extensions/agent_scheduler").json()["extension"]["name"] == \
            "Agent Schedulers"
        assert c.get("/v2.0/extensions/lbaas").status_code == 404


def test_agents_register_by_reporting_and_show_seed_fields(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    l2, dhcp = register(client, f"HostA-{tag}")
    with server.client() as c:
        agents = {a["id"]: a for a in c.get("/v2.0/agents").json()["agents"]}
        assert agents[l2.agent_id]["agent_type"] == "Linux bridge agent"
        shown = c.get(f"/v2.0/agents/{dhcp.agent_id}").json()["agent"]
    for key in ("id", "agent_type", "binary", "topic", "host", "admin_state_up", "alive",
                "description", "configurations", "created_at", "started_at",
                "heartbeat_timestamp", "availability_zone"):
        assert key in shown
    assert shown["alive"] is True and shown["topic"] == "dhcp_agent"
    assert shown["configurations"]["use_namespaces"] is True
    # A second report is a heartbeat of the same agent, not a new one.
    again = client.report_state(dhcp_state(f"HostA-{tag}"))
    assert again.agent_id == dhcp.agent_id


def test_network_with_dhcp_subnet_is_scheduled_to_one_live_agent(server: RunningServer
                                                                   ) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    register(client, f"HostA-{tag}")
    net = _net_with_subnet(server, f"net2-{tag}", "9.0.1.0/24")
    assert len(_hosts(server, net)) == 1


def test_add_and_remove_network_on_dhcp_agent(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    _, a = register(client, f"HostA-{tag}")
    _, b = register(client, f"HostB-{tag}")
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]["id"]
        assert c.post(f"/v2.0/agents/{a.agent_id}/dhcp-networks",
                      json={"network_id": net}).status_code == 201
        assert c.post(f"/v2.0/agents/{b.agent_id}/dhcp-networks",
                      json={"network_id": net}).status_code == 201
        assert _hosts(server, net) == sorted([f"HostA-{tag}", f"HostB-{tag}"])
        hosted = c.get(f"/v2.0/agents/{a.agent_id}/dhcp-networks").json()["networks"]
        assert [n["id"] for n in hosted] == [net]
        again = c.post(f"/v2.0/agents/{a.agent_id}/dhcp-networks", json={"network_id": net})
        assert again.status_code == 409
        assert c.delete(f"/v2.0/agents/{a.agent_id}/dhcp-networks/{net}").status_code == 204
        assert _hosts(server, net) == [f"HostB-{tag}"]
        gone = c.delete(f"/v2.0/agents/{a.agent_id}/dhcp-networks/{net}")
        assert gone.status_code == 409


def test_scheduler_calls_reject_unknown_and_wrong_agents(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    l2, dhcp = register(agent_client(server), f"HostC-{tag}")
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]["id"]
        missing = str(uuid.uuid4())
        r = c.post(f"/v2.0/agents/{missing}/dhcp-networks", json={"network_id": net})
        assert r.status_code == 404
        r = c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", json={"network_id": missing})
        assert r.status_code == 404
        r = c.post(f"/v2.0/agents/{l2.agent_id}/dhcp-networks", json={"network_id": net})
        assert r.status_code == 404 and "not a DHCP agent" in r.json()["NeutronError"]["message"]
        c.put(f"/v2.0/agents/{dhcp.agent_id}", json={"agent": {"admin_state_up": False}})
        r = c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", json={"network_id": net})
        assert r.status_code == 404 and "disabled" in r.json()["NeutronError"]["message"]


def test_disabled_agent_gets_no_new_networks(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:6]
    client = agent_client(server)
    _, dhcp = register(client, f"HostD-{tag}")
    with server.client() as c:
        # Disable every DHCP agent but a fresh one, so the choice is forced.
        for agent in c.get("/v2.0/agents", params={"agent_type": "DHCP agent"}).json()["agents"]:
            c.put(f"/v2.0/agents/{agent['id']}", json={"agent": {"admin_state_up": False}})
        net = _net_with_subnet(server, f"n-{tag}", "10.77.0.0/24")
        assert _hosts(server, net) == []
        _, other = register(client, f"HostE-{tag}")
        c.put(f"/v2.0/agents/{other.agent_id}", json={"agent": {"admin_state_up": True}})
        net2 = _net_with_subnet(server, f"m-{tag}", "10.78.0.0/24")
        assert _hosts(server, net2) == [f"HostE-{tag}"]
        assert dhcp.agent_id not in [a["id"] for a in c.get(
            f"/v2.0/networks/{net2}/dhcp-agents").json()["agents"]]


def test_agent_update_only_admin_state_and_description(server: RunningServer) -> None:
    _, dhcp = register(agent_client(server), f"HostF-{uuid.uuid4().hex[:6]}")
    with server.client() as c:
        r = c.put(f"/v2.0/agents/{dhcp.agent_id}",
                  json={"agent": {"admin_state_up": False, "description": "maintenance"}})
        assert r.status_code == 200
        assert r.json()["agent"]["admin_state_up"] is False
        assert r.json()["agent"]["description"] == "maintenance"
        r = c.put(f"/v2.0/agents/{dhcp.agent_id}", json={"agent": {"host": "elsewhere"}})
        assert r.status_code == 400
        assert c.post("/v2.0/agents", json={"agent": {}}).status_code == 405


def test_deleted_agent_loses_bindings_and_reappears_with_new_id(server: RunningServer) -> None:
    host = f"HostG-{uuid.uuid4().hex[:6]}"
    client = agent_client(server)
    _, dhcp = register(client, host)
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "n"}}).json()["network"]["id"]
        c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", json={"network_id": net})
        assert c.delete(f"/v2.0/agents/{dhcp.agent_id}").status_code == 204
        assert c.get(f"/v2.0/agents/{dhcp.agent_id}").status_code == 404
        assert host not in _hosts(server, net)
    again = client.report_state(dhcp_state(host, start=True))
    assert again.agent_id != dhcp.agent_id


def test_member_is_refused_on_every_agent_and_scheduler_call(server: RunningServer) -> None:
    _, dhcp = register(agent_client(server), f"HostH-{uuid.uuid4().hex[:6]}")
    with server.client("member") as m:
        net = m.post("/v2.0/networks", json={"network": {"name": "mine"}}).json()["network"]["id"]
        calls = [
            ("GET", "/v2.0/agents", None),
            ("GET", f"/v2.0/agents/{dhcp.agent_id}", None),
            ("PUT", f"/v2.0/agents/{dhcp.agent_id}", {"agent": {"admin_state_up": False}}),
            ("DELETE", f"/v2.0/agents/{dhcp.agent_id}", None),
            ("GET", f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", None),
            ("POST", f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", {"network_id": net}),
            ("DELETE", f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks/{net}", None),
            ("GET", f"/v2.0/networks/{net}/dhcp-agents", None),
            ("POST", "/agent-rpc/v1/report_state", dhcp_state("intruder").model_dump()),
            ("GET", "/agent-rpc/v1/dhcp/intruder/networks", None),
            ("GET", "/agent-rpc/v1/events?host=x", None),
        ]
        for method, path, body in calls:
            r = m.request(method, path, json=body)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert "NeutronError" in r.json()
    with server.client(None) as anonymous:
        assert anonymous.get("/v2.0/agents").status_code == 401
        assert anonymous.get("/v2.0/networks").status_code == 401
    with server.client() as admin:
        assert admin.get(f"/v2.0/agents/{dhcp.agent_id}").status_code == 200


def test_member_sees_only_own_project(server: RunningServer) -> None:
    with server.client("member") as m, server.client("other") as o:
        mine = m.post("/v2.0/networks", json={"network": {"name": "private"}}).json()["network"]
        assert "provider:network_type" not in mine
        assert o.get(f"/v2.0/networks/{mine['id']}").status_code == 404
        assert mine["id"] not in [n["id"] for n in o.get("/v2.0/networks").json()["networks"]]
        assert o.delete(f"/v2.0/networks/{mine['id']}").status_code == 404
        r = m.post("/v2.0/networks", json={"network": {"name": "x",
                                                       "provider:network_type": "vxlan"}})
        assert r.status_code == 403


def test_events_carry_changes_and_resume_after_a_gap(server: RunningServer) -> None:
    host = f"HostI-{uuid.uuid4().hex[:6]}"
    client = agent_client(server)
    _, dhcp = register(client, host)
    cursor = client.wait_events(host, -1, 0).latest_revision
    with server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "ev"}}).json()["network"]["id"]
        c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks", json={"network_id": net})
        c.post("/v2.0/ports", json={"port": {"network_id": net}})
    seen: list[tuple[str, str | None]] = []

    def collect() -> bool:
        nonlocal cursor
        batch = client.wait_events(host, cursor, 1.0)
        cursor = batch.latest_revision
        seen.extend((e.event, e.network_id) for e in batch.events if e.network_id == net)
        return ("port.create", net) in seen

    wait_until(collect, 10, message="port.create event")
    assert ("network.create", net) in seen and ("agent.network_added", net) in seen
    info = client.get_network_info(host, net)
    assert info is not None and len(info.ports) == 1
    refs = {r.id for r in client.get_active_networks(host)}
    assert net in refs


def test_long_poll_wakes_promptly_on_a_change(server: RunningServer) -> None:
    import threading
    import time

    host = f"HostJ-{uuid.uuid4().hex[:6]}"
    client = agent_client(server)
    cursor = client.wait_events(host, -1, 0).latest_revision
    result: dict[str, float] = {}
    calling = threading.Event()

    def poll() -> None:
        start = time.monotonic()
        calling.set()
        batch = client.wait_events(host, cursor, 20)
        result["waited"] = time.monotonic() - start
        result["events"] = len(batch.events)

    thread = threading.Thread(target=poll)
    thread.start()
    # The change follows the poller's call, so it (nearly always) finds it waiting; either
    # way it must be answered well before its 20 s.
    assert calling.wait(10)
    with server.client() as c:
        c.post("/v2.0/networks", json={"network": {"name": "wake"}})
    thread.join(25)
    assert result["events"] >= 1
    assert result["waited"] < 5, result
