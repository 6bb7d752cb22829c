"""networks_applied over every driver (HTTP route and RabbitMQ dispatch entry) and the
FakeServer: an agent's confirmation is stored per network; on a real server it also settles
the address quarantine waits it covers."""
from __future__ import annotations

import uuid

import pytest

from neutrino.agent_protocol.messages import NetworkApplied
from tests.contract.deployments import TRANSPORTS, Deployment, ServerDeployment
from tests.support.agents import register


def _network_with_a_freed_address(dep: Deployment, agent_id: str, cidr: str
                                  ) -> tuple[str, str]:
    net = dep.admin.network((cidr,), name="applied").id
    dep.admin.host(net, agent_id)
    port_id, freed = dep.admin.create_port(net)
    dep.admin.delete_port(net, port_id)
    return net, freed


def test_confirmation_is_stored(deployment: Deployment) -> None:
    client = deployment.client()
    host = "HostN-" + uuid.uuid4().hex[:6]
    _, dhcp = register(client, host)
    net, _ = _network_with_a_freed_address(deployment, dhcp.agent_id, "10.62.0.0/24")
    info = client.get_network_info(host, net)
    assert info is not None

    client.networks_applied(host, [NetworkApplied(network_id=net,
                                                  revision_number=info.revision_number - 1)])
    assert deployment.admin.applied_revision(dhcp.agent_id, net) == info.revision_number - 1
    client.networks_applied(host, [NetworkApplied(network_id=net,
                                                  revision_number=info.revision_number),
                                   NetworkApplied(network_id=str(uuid.uuid4()),
                                                  revision_number=1, serving=False)])
    assert deployment.admin.applied_revision(dhcp.agent_id, net) == info.revision_number


# Address quarantine is the real server's (the FakeServer keeps no freed addresses), so this
# one is not parametrised for the fake and reports no skip for it.
@pytest.mark.parametrize("deployment", TRANSPORTS, indirect=True)
def test_confirmation_settles_the_agents_waits(deployment: Deployment) -> None:
    assert isinstance(deployment, ServerDeployment)
    admin = deployment.admin
    client = deployment.client()
    host = "HostQ-" + uuid.uuid4().hex[:6]
    _, dhcp = register(client, host)
    net, freed = _network_with_a_freed_address(deployment, dhcp.agent_id, "10.70.0.0/24")
    assert admin.quarantine_waits(dhcp.agent_id, net) == [freed]
    info = client.get_network_info(host, net)
    assert info is not None

    client.networks_applied(host, [NetworkApplied(network_id=net,
                                                  revision_number=info.revision_number - 1)])
    assert admin.quarantine_waits(dhcp.agent_id, net) == [freed]  # older than the freeing
    client.networks_applied(host, [NetworkApplied(network_id=net,
                                                  revision_number=info.revision_number)])
    assert admin.quarantine_waits(dhcp.agent_id, net) == []
