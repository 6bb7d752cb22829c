"""The agent_scheduler extension: which DHCP agents host which networks."""

from __future__ import annotations

import argparse
from typing import Any

from cliff.command import Command
from cliff.lister import Lister

from neutrino.cli.app import neutron_client
from neutrino.cli.commands.agents import agent_rows
from neutrino.cli.commands.messages import say
from neutrino.cli.commands.networks import network_rows
from neutrino.cli.resolve import find_id

HOSTING_AGENT_COLUMNS = ("id", "host", "admin_state_up", "alive")
# --long adds each binding's state (ready, loading, leaving: scheduler/readiness.py); the
# default tables stay the old client's, which scripts and the seed's walk-through read.
STATE_COLUMN = "dhcp_state"
LONG_HELP = ("Add the dhcp_state column: ready (its dnsmasq serves the network), loading, "
             "or leaving (removed once the agent replacing it is ready).")


class ListDhcpAgentsHostingNetwork(Lister):
    """List the DHCP agents hosting a network (GET /v2.0/networks/{id}/dhcp-agents)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("network", metavar="NETWORK", help="Name or id of the network.")
        parser.add_argument("--long", action="store_true", help=LONG_HELP)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        network_id = find_id(client, "network", parsed_args.network)
        agents = client.list_dhcp_agents_hosting_network(network_id)
        columns = HOSTING_AGENT_COLUMNS + ((STATE_COLUMN,) if parsed_args.long else ())
        return columns, agent_rows(agents, columns)


class ListNetworksOnDhcpAgent(Lister):
    """List the networks a DHCP agent hosts (GET /v2.0/agents/{id}/dhcp-networks)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="DHCP_AGENT", help="Id of the DHCP agent.")
        parser.add_argument("--long", action="store_true", help=LONG_HELP)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        networks = client.list_networks_on_dhcp_agent(parsed_args.agent)
        columns, rows = network_rows(client, networks)
        if not parsed_args.long:
            return columns, rows
        return columns + (STATE_COLUMN,), [
            (*row, net.get(STATE_COLUMN, "")) for row, net in zip(rows, networks, strict=True)]


class AddNetworkToDhcpAgent(Command):
    """Make a DHCP agent host a network as well (POST /v2.0/agents/{id}/dhcp-networks)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="DHCP_AGENT", help="Id of the DHCP agent.")
        parser.add_argument("network", metavar="NETWORK", help="Name or id of the network.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = neutron_client(self.app)
        network_id = find_id(client, "network", parsed_args.network)
        client.add_network_to_dhcp_agent(parsed_args.agent, network_id)
        say(self.app, f"Added network {parsed_args.network} to DHCP agent")
        return 0


class RemoveNetworkFromDhcpAgent(Command):
    """Stop a DHCP agent hosting a network (DELETE /v2.0/agents/{id}/dhcp-networks/{net})."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="DHCP_AGENT", help="Id of the DHCP agent.")
        parser.add_argument("network", metavar="NETWORK", help="Name or id of the network.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = neutron_client(self.app)
        network_id = find_id(client, "network", parsed_args.network)
        client.remove_network_from_dhcp_agent(parsed_args.agent, network_id)
        say(self.app, f"Removed network {parsed_args.network} from DHCP agent")
        return 0
