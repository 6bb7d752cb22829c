"""networks_applied over every driver (HTTP route and RabbitMQ dispatch entry): an agent's
confirmation settles its address quarantine waits and is stored on its binding."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from neutrino.agent_protocol.messages import NetworkApplied
from neutrino.db.models import IpQuarantineWait, NetworkDhcpAgentBinding
from tests.contract.conftest import Deployment
from tests.support.agents import register


def _waits(dep: Deployment, agent_id: str, network_id: str) -> list[str]:
    with dep.server.db.session() as session:
        return list(session.scalars(select(IpQuarantineWait.ip_address).where(
            IpQuarantineWait.dhcp_agent_id == agent_id,
            IpQuarantineWait.network_id == network_id)))


def _applied_revision(dep: Deployment, agent_id: str, network_id: str) -> int | None:
    with dep.server.db.session() as session:
        binding = session.get(NetworkDhcpAgentBinding, (network_id, agent_id))
        assert binding is not None
        return binding.applied_revision


def test_confirmation_settles_the_agents_waits_and_is_stored(deployment: Deployment) -> None:
    client = deployment.client()
    host = "HostN-" + uuid.uuid4().hex[:6]
    _, dhcp = register(client, host)
    with deployment.server.client() as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "applied"}}
                     ).json()["network"]["id"]
        assert c.post("/v2.0/subnets", json={"subnet": {
            "network_id": net, "cidr": "10.62.0.0/24"}}).status_code == 201
        added = c.post(f"/v2.0/agents/{dhcp.agent_id}/dhcp-networks",
                       json={"network_id": net})
        assert added.status_code in (201, 409), added.text
        port = c.post("/v2.0/ports", json={"port": {"network_id": net}}).json()["port"]
        assert c.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    freed = port["fixed_ips"][0]["ip_address"]
    assert _waits(deployment, dhcp.agent_id, net) == [freed]
    info = client.get_network_info(host, net)
    assert info is not None

    client.networks_applied(host, [NetworkApplied(network_id=net,
                                                  revision_number=info.revision_number - 1)])
    assert _waits(deployment, dhcp.agent_id, net) == [freed]  # older than the freeing
    assert _applied_revision(deployment, dhcp.agent_id, net) == info.revision_number - 1

    client.networks_applied(host, [NetworkApplied(network_id=net,
                                                  revision_number=info.revision_number),
                                   NetworkApplied(network_id=str(uuid.uuid4()),
                                                  revision_number=1, serving=False)])
    assert _waits(deployment, dhcp.agent_id, net) == []
    assert _applied_revision(deployment, dhcp.agent_id, net) == info.revision_number
