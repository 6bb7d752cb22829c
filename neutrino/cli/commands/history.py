"""event-list: the agent history (GET /v2.0/agent-history), newest first."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from cliff.lister import Lister

from neutrino.cli.api import CliError, NeutronClient
from neutrino.cli.app import neutron_client
from neutrino.cli.arguments import since
from neutrino.cli.display import list_rows
from neutrino.cli.resolve import find_id

COLUMNS = ("created_at", "kind", "network_id", "agents", "host", "actor", "reason")
LONG_COLUMNS = ("id", "created_at", "kind", "network_id", "agent_id", "from_agent_id",
                "to_agent_id", "host", "actor", "actor_id", "reason")
DEFAULT_LIMIT = 100


def agents_cell(entry: dict[str, Any]) -> str:
    """Who an entry is about in one cell: the agent, or 'from -> to' of a binding change."""
    if entry.get("agent_id"):
        return str(entry["agent_id"])
    ends = (entry.get("from_agent_id") or "", entry.get("to_agent_id") or "")
    return " -> ".join(ends).strip() if any(ends) else ""


def agent_ids(client: NeutronClient, id_or_host: str) -> list[str]:
    """An agent id as given, or the ids of the agents on a host (DHCP and L2 alike)."""
    try:
        uuid.UUID(id_or_host)
    except ValueError:
        found = [str(a["id"]) for a in client.list_resources("agents", host=id_or_host)]
        if not found:
            raise CliError(f"No agent with id or host '{id_or_host}'.") from None
        return found
    return [id_or_host]


class ListEvent(Lister):
    """List the agent history: binding changes (scheduled, added, removed, failover, drain,
    rebalance) and agent state changes (registered, dead, alive_again, disabled, enabled,
    deleted), newest first. Admin only."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--network", metavar="NETWORK",
                            help="Only entries of this network (name or id).")
        parser.add_argument("--agent", metavar="AGENT",
                            help="Only entries of this agent (id), or of the agents on this "
                                 "host; binding changes count at either end.")
        parser.add_argument("--since", metavar="TIME", type=since,
                            help="Only entries at or after TIME: ISO 8601 "
                                 "(2026-12-01T17:00:00Z) or an age (15m, 2h, 7d).")
        parser.add_argument("--kind", metavar="KIND", action="append",
                            help="Only entries of this kind (repeat for several).")
        parser.add_argument("--limit", metavar="N", type=int, default=DEFAULT_LIMIT,
                            help=f"Show the newest N entries (default {DEFAULT_LIMIT}).")
        parser.add_argument("--long", action="store_true",
                            help="Every field, each agent id in its own column.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        if parsed_args.limit < 1:
            raise CliError(f"--limit {parsed_args.limit}: give 1 or more entries.")
        client = neutron_client(self.app)
        filters: dict[str, Any] = {"since": parsed_args.since, "kind": parsed_args.kind}
        if parsed_args.network:
            filters["network_id"] = find_id(client, "network", parsed_args.network)
        if parsed_args.agent:
            filters["agent_id"] = agent_ids(client, parsed_args.agent)
        entries = client.list_agent_history(parsed_args.limit, **filters)
        columns = LONG_COLUMNS if parsed_args.long else COLUMNS
        return columns, list_rows([{**e, "agents": agents_cell(e)} for e in entries], columns)
