"""The CLI's only door to the server: Neutron v2.0 REST calls over a pluggable transport."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote, urlencode

JsonBody = dict[str, Any] | None


class Transport(Protocol):
    """Anything that can send one JSON request to the network API and return (status, body)."""

    def request(self, method: str, path: str, json: JsonBody = None) -> tuple[int, Any]:
        """Send `method path` (path starts with /v2.0) and return the status and decoded body."""
        ...


class CliError(Exception):
    """An error the CLI reports as one sentence on stderr, without a traceback."""


class ServerError(CliError):
    """The server answered with an error status; str() is the server's own message."""

    def __init__(self, status: int, message: str, error_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class NotFound(ServerError):
    """The server answered 404."""


class ServerUnreachable(CliError):
    """No connection could be made (refused, DNS, timeout)."""


def error_message(status: int, body: Any) -> tuple[str, str]:
    """Pull (type, message) out of an error body, NeutronError first, FastAPI's detail second."""
    if isinstance(body, dict):
        neutron_error = body.get("NeutronError")
        if isinstance(neutron_error, dict):
            return str(neutron_error.get("type", "")), str(neutron_error.get("message", ""))
        if isinstance(neutron_error, str):
            return "", neutron_error
        detail = body.get("detail")
        if isinstance(detail, str):
            return "", detail
        if isinstance(detail, list):
            # FastAPI validation errors: a list of {"loc": [...], "msg": "..."}.
            parts = [f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}"
                     for d in detail if isinstance(d, dict)]
            return "", "; ".join(parts) or str(detail)
    if isinstance(body, str) and body.strip():
        return "", body.strip()
    return "", f"The server answered HTTP {status} without an error message."


# The most entries the server gives in one page of the agent history.
HISTORY_PAGE = 1000


def _query(filters: dict[str, Any]) -> str:
    kept = {k: v for k, v in filters.items() if v is not None}
    return "?" + urlencode(kept, doseq=True) if kept else ""


def _segment(value: str) -> str:
    return quote(value, safe="")


class NeutronClient:
    """Typed calls for the resources the CLI knows, each one a single REST request."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _call(self, method: str, path: str, body: JsonBody = None) -> Any:
        status, answer = self._transport.request(method, path, body)
        if status >= 400:
            error_type, message = error_message(status, answer)
            error_class = NotFound if status == 404 else ServerError
            raise error_class(status, message, error_type)
        return answer

    # Generic resources: networks, subnets, ports, agents share one URL pattern.

    def list_resources(self, collection: str, **filters: Any) -> list[dict[str, Any]]:
        """GET /v2.0/<collection>?filters and return the list under the collection key."""
        answer = self._call("GET", f"/v2.0/{collection}{_query(filters)}")
        return list(answer.get(collection, []))

    def show(self, resource: str, resource_id: str) -> dict[str, Any]:
        """GET /v2.0/<resource>s/<id>."""
        answer = self._call("GET", f"/v2.0/{resource}s/{_segment(resource_id)}")
        return dict(answer[resource])

    def create(self, resource: str, fields: dict[str, Any]) -> dict[str, Any]:
        """POST /v2.0/<resource>s with {resource: fields}."""
        answer = self._call("POST", f"/v2.0/{resource}s", {resource: fields})
        return dict(answer[resource])

    def update(self, resource: str, resource_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PUT /v2.0/<resource>s/<id> with {resource: fields}."""
        answer = self._call("PUT", f"/v2.0/{resource}s/{_segment(resource_id)}", {resource: fields})
        return dict(answer[resource]) if isinstance(answer, dict) and resource in answer else {}

    def delete(self, resource: str, resource_id: str) -> None:
        """DELETE /v2.0/<resource>s/<id>."""
        self._call("DELETE", f"/v2.0/{resource}s/{_segment(resource_id)}")

    # Extensions.

    def list_extensions(self) -> list[dict[str, Any]]:
        """GET /v2.0/extensions."""
        return list(self._call("GET", "/v2.0/extensions").get("extensions", []))

    def show_extension(self, alias: str) -> dict[str, Any]:
        """GET /v2.0/extensions/<alias>."""
        return dict(self._call("GET", f"/v2.0/extensions/{_segment(alias)}")["extension"])

    # agent_scheduler extension: which DHCP agents host which networks.

    def list_dhcp_agents_hosting_network(self, network_id: str) -> list[dict[str, Any]]:
        """GET /v2.0/networks/<id>/dhcp-agents."""
        answer = self._call("GET", f"/v2.0/networks/{_segment(network_id)}/dhcp-agents")
        return list(answer.get("agents", []))

    def list_networks_on_dhcp_agent(self, agent_id: str) -> list[dict[str, Any]]:
        """GET /v2.0/agents/<id>/dhcp-networks."""
        answer = self._call("GET", f"/v2.0/agents/{_segment(agent_id)}/dhcp-networks")
        return list(answer.get("networks", []))

    def add_network_to_dhcp_agent(self, agent_id: str, network_id: str) -> None:
        """POST /v2.0/agents/<id>/dhcp-networks with {"network_id": ...}."""
        self._call("POST", f"/v2.0/agents/{_segment(agent_id)}/dhcp-networks",
                   {"network_id": network_id})

    def dhcp_rebalance(self, dry_run: bool) -> dict[str, Any]:
        """GET (the plan) or POST (carry it out) /v2.0/dhcp-agent-rebalance."""
        answer = self._call("GET" if dry_run else "POST", "/v2.0/dhcp-agent-rebalance")
        return dict(answer["rebalance"])

    def pending_moves(self) -> list[dict[str, Any]]:
        """GET /v2.0/dhcp-agent-rebalance/moves: moves still waiting for their new agent."""
        return list(self._call("GET", "/v2.0/dhcp-agent-rebalance/moves")["moves"])

    def remove_network_from_dhcp_agent(self, agent_id: str, network_id: str) -> None:
        """DELETE /v2.0/agents/<id>/dhcp-networks/<network_id>."""
        self._call("DELETE",
                   f"/v2.0/agents/{_segment(agent_id)}/dhcp-networks/{_segment(network_id)}")

    # Drain (docs/operations.md): move an agent's networks away make-before-break.

    def drain_agent(self, agent_id: str, dry_run: bool = False,
                    limit: int | None = None) -> dict[str, Any]:
        """POST /v2.0/agents/<id>/drain: disable the agent, start moves (or plan them)."""
        options: dict[str, Any] = {"dry_run": dry_run}
        if limit is not None:
            options["limit"] = limit
        answer = self._call("POST", f"/v2.0/agents/{_segment(agent_id)}/drain",
                            {"drain": options})
        return dict(answer["drain"])

    def drain_status(self, agent_id: str) -> dict[str, Any]:
        """GET /v2.0/agents/<id>/drain."""
        return dict(self._call("GET", f"/v2.0/agents/{_segment(agent_id)}/drain")["drain"])

    # The agent history (GET /v2.0/agent-history), newest first.

    def list_agent_history(self, limit: int, **filters: Any) -> list[dict[str, Any]]:
        """The newest `limit` entries matching `filters`, a server page at a time."""
        entries: list[dict[str, Any]] = []
        marker: int | None = None
        while len(entries) < limit:
            page_size = min(limit - len(entries), HISTORY_PAGE)
            answer = self._call("GET", "/v2.0/agent-history" + _query(
                {**filters, "limit": page_size, "marker": marker}))
            page = list(answer.get("agent_history", []))
            entries += page
            if not page or not answer.get("agent_history_links"):
                break
            marker = page[-1]["id"]
        return entries[:limit]

