"""Pick the agent transport driver from `transport_url`: http(s):// or rabbit://."""
from __future__ import annotations

from neutrino.tls import ClientTls
from neutrino.transport.client import AgentServerClient
from neutrino.transport.rabbit_topology import DEFAULT_CONTROL_EXCHANGE
from neutrino.transport.urls import TransportUrlError, parse_transport_url


def make_agent_client(transport_url: str, *, control_exchange: str = DEFAULT_CONTROL_EXCHANGE,
                      timeout: float = 10.0, tls: ClientTls | None = None
                      ) -> AgentServerClient:
    """The client for `transport_url`; raises ValueError naming what is accepted.

    `tls`: how to verify the server (https://) or the broker (rabbit:// with TLS on);
    https:// without it is verified against the system's CAs, rabbit:// without it is plain.
    """
    url = parse_transport_url(transport_url)
    if url.is_http:
        from neutrino.transport.http_client import HttpAgentClient

        # `?project=service` scopes the agent's token, as agent settings document.
        return HttpAgentClient.from_transport_url(transport_url, url.query_value(
            "project", "admin"), timeout, tls)
    if url.is_rabbit:
        from neutrino.transport.rabbit_client import RabbitAgentClient

        return RabbitAgentClient.from_transport_url(transport_url, control_exchange, timeout,
                                                    tls)
    raise TransportUrlError(transport_url, f"no driver for {url.scheme}://")
