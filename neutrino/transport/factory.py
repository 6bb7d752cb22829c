"""Pick the agent transport driver from `transport_url`: http(s):// or rabbit://."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from neutrino.tls import ClientTls
from neutrino.transport.client import AgentServerClient
from neutrino.transport.rabbit_topology import DEFAULT_CONTROL_EXCHANGE, RABBIT_SCHEMES


def make_agent_client(transport_url: str, *, control_exchange: str = DEFAULT_CONTROL_EXCHANGE,
                      timeout: float = 10.0, tls: ClientTls | None = None
                      ) -> AgentServerClient:
    """The client for `transport_url`; raises ValueError naming what is accepted.

    `tls`: how to verify the server (https://) or the broker (rabbit:// with TLS on);
    https:// without it is verified against the system's CAs, rabbit:// without it is plain.
    """
    scheme = urlsplit(transport_url).scheme
    if scheme in ("http", "https"):
        from neutrino.transport.http_client import HttpAgentClient

        # `?project=service` scopes the agent's token, as agent settings document.
        query = parse_qs(urlsplit(transport_url).query)
        project = query.get("project", ["admin"])[0]
        return HttpAgentClient.from_transport_url(transport_url, project, timeout, tls)
    if scheme in RABBIT_SCHEMES:
        from neutrino.transport.rabbit_client import RabbitAgentClient

        return RabbitAgentClient.from_transport_url(transport_url, control_exchange, timeout,
                                                    tls)
    raise ValueError(f"transport_url {transport_url!r}: expected http://USER:PASS@HOST:9696/ "
                     "or rabbit://USER:PASS@HOST:5672/")
