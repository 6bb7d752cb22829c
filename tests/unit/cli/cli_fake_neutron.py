"""An in-memory Neutron v2.0 server speaking the CLI's Transport protocol, for unit tests.

It honours the real shapes ({"network": {...}}, {"networks": [...]}, NeutronError bodies) and
keeps only as much behaviour as the CLI can observe.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

COLLECTIONS = ("networks", "subnets", "ports", "agents")


def _error(status: int, error_type: str, message: str) -> tuple[int, Any]:
    return status, {"NeutronError": {"type": error_type, "message": message, "detail": ""}}


class FakeNeutron:
    """Networks, subnets, ports, agents, extensions and DHCP bindings, kept in dicts."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTIONS}
        self.extensions: list[dict[str, Any]] = []
        self.bindings: set[tuple[str, str]] = set()  # (agent_id, network_id)
        self.history: list[dict[str, Any]] = []  # the agent history, oldest first
        self.calls: list[tuple[str, str, Any]] = []
        self._macs = itertools.count(1)

    # Seeding helpers for tests.

    def add(self, collection: str, **fields: Any) -> dict[str, Any]:
        """Store a resource as the server would hold it, with an id if none is given."""
        item = {"id": str(uuid.uuid4()), **fields}
        if collection == "networks":
            item.setdefault("subnets", [])
        if collection == "subnets":
            self.store["networks"][item["network_id"]]["subnets"].append(item["id"])
        self.store[collection][item["id"]] = item
        return item

    def add_agent(self, agent_id: str, agent_type: str, host: str, alive: bool = True,
                  admin_state_up: bool = True, **fields: Any) -> dict[str, Any]:
        """Store an agent record the way the agent extension shows it."""
        return self.add("agents", id=agent_id, agent_type=agent_type, host=host, alive=alive,
                        admin_state_up=admin_state_up, **fields)

    # The Transport protocol.

    def request(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        self.calls.append((method, path, copy.deepcopy(json)))
        url = urlsplit(path)
        parts = url.path.strip("/").split("/")
        if parts[0] != "v2.0":
            return _error(404, "HTTPNotFound", f"No such path {url.path}.")
        parts = parts[1:]
        if parts == ["extensions"] and method == "GET":
            return 200, {"extensions": self.extensions}
        if parts == ["agent-history"] and method == "GET":
            return self._history(parse_qs(url.query))
        if len(parts) >= 3 and parts[2] in ("dhcp-agents", "dhcp-networks"):
            return self._scheduling(method, parts, json)
        collection = parts[0]
        if collection not in COLLECTIONS:
            return _error(404, "HTTPNotFound", f"No such collection {collection}.")
        if len(parts) == 1 and method == "GET":
            filters = {k: v for k, v in parse_qs(url.query).items()}
            items = [i for i in self.store[collection].values()
                     if all(str(i.get(k)) in values for k, values in filters.items())]
            return 200, {collection: copy.deepcopy(items)}
        if len(parts) == 1 and method == "POST":
            return self._create(collection, json[collection[:-1]])
        item = self.store[collection].get(parts[1])
        if item is None:
            kind = collection[:-1].capitalize()
            return _error(404, f"{kind}NotFound", f"{kind} {parts[1]} could not be found.")
        if method == "GET":
            return 200, {collection[:-1]: copy.deepcopy(item)}
        if method == "PUT":
            item.update(json[collection[:-1]])
            return 200, {collection[:-1]: copy.deepcopy(item)}
        if method == "DELETE":
            del self.store[collection][parts[1]]
            return 204, None
        return _error(405, "HTTPMethodNotAllowed", f"{method} is not allowed here.")

    def note(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append an agent history entry as the server would show it."""
        entry = {"id": len(self.history) + 1, "created_at": "2026-12-01T17:00:00.000000",
                 "kind": kind, "actor": "server", "actor_id": None, "reason": "",
                 "network_id": None, "agent_id": None, "from_agent_id": None,
                 "to_agent_id": None, "host": None, **fields}
        self.history.append(entry)
        return entry

    def _history(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """GET /v2.0/agent-history: filters, newest first, limit/marker pages of at most 1000."""
        agents = set(query.get("agent_id", []))
        found = [e for e in reversed(self.history)
                 if (not agents or agents & {e["agent_id"], e["from_agent_id"],
                                             e["to_agent_id"]})
                 and all(str(e.get(k)) in query[k] for k in ("network_id", "kind") if k in query)
                 and ("since" not in query or e["created_at"] >= query["since"][0])
                 and ("marker" not in query or e["id"] < int(query["marker"][0]))]
        limit = min(int(query.get("limit", ["1000"])[0]) or 1000, 1000)
        body: dict[str, Any] = {"agent_history": copy.deepcopy(found[:limit])}
        if len(found) > limit:
            body["agent_history_links"] = [{"rel": "next", "href": "(next page)"}]
        return 200, body

    def _create(self, collection: str, fields: dict[str, Any]) -> tuple[int, Any]:
        resource = collection[:-1]
        if collection in ("subnets", "ports") and fields["network_id"] not in \
                self.store["networks"]:
            return _error(404, "NetworkNotFound",
                          f"Network {fields['network_id']} could not be found.")
        defaults: dict[str, Any] = {"tenant_id": "t1", "name": ""}
        if collection == "networks":
            defaults.update(admin_state_up=True, shared=False, status="ACTIVE")
        if collection == "subnets":
            defaults.update(enable_dhcp=True, gateway_ip=None, dns_nameservers=[],
                            host_routes=[], allocation_pools=[])
        if collection == "ports":
            defaults.update(mac_address=f"fa:16:3e:00:00:{next(self._macs):02x}",
                            fixed_ips=[], device_id="", device_owner="", status="DOWN")
        item = self.add(collection, **{**defaults, **fields})
        return 201, {resource: copy.deepcopy(item)}

    def _scheduling(self, method: str, parts: list[str], json: Any) -> tuple[int, Any]:
        owner, owner_id, relation = parts[0], parts[1], parts[2]
        if owner_id not in self.store[owner]:
            kind = "Network" if owner == "networks" else "Agent"
            return _error(404, f"{kind}NotFound", f"{kind} {owner_id} could not be found.")
        if relation == "dhcp-agents" and method == "GET":
            agents = [self.store["agents"][a] for a, n in sorted(self.bindings) if n == owner_id]
            return 200, {"agents": copy.deepcopy(agents)}
        if method == "GET":
            networks = [self.store["networks"][n] for a, n in sorted(self.bindings)
                        if a == owner_id]
            return 200, {"networks": copy.deepcopy(networks)}
        if method == "POST":
            binding = (owner_id, json["network_id"])
            if binding in self.bindings:
                return _error(409, "NetworkHostedByDHCPAgent",
                              f"The network {json['network_id']} has been already hosted by "
                              f"the DHCP Agent {owner_id}.")
            self.bindings.add(binding)
            return 201, None
        binding = (owner_id, parts[3])
        if binding not in self.bindings:
            return _error(409, "NetworkNotHostedByDhcpAgent",
                          f"The network {parts[3]} is not hosted by the DHCP agent {owner_id}.")
        self.bindings.discard(binding)
        return 204, None
