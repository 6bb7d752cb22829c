"""agent-list, agent-show, agent-update, agent-delete (the `agent` extension)."""

from __future__ import annotations

import argparse
from typing import Any

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from neutrino.cli.api import CliError
from neutrino.cli.app import neutron_client
from neutrino.cli.arguments import boolean
from neutrino.cli.commands.messages import say
from neutrino.cli.display import alive_face, field_value, show_table

# Neutron's client showed availability_zone after host (the seed's older client did not).
AGENT_COLUMNS = ("id", "agent_type", "host", "availability_zone", "alive", "admin_state_up")
# --long: and how loaded each agent is (a DHCP agent's networks, per dhcp_load_type).
LONG_AGENT_COLUMNS = (*AGENT_COLUMNS, "load")


def agent_rows(agents: list[dict[str, Any]], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows for `columns`, with alive as ':-)' or 'xxx'."""
    return [tuple(alive_face(agent) if column == "alive" else field_value(agent.get(column))
                  for column in columns)
            for agent in agents]


class ListAgent(Lister):
    """List agents; alive is ':-)' if the agent reported within agent_down_time, else 'xxx'."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--agent-type", "--agent_type", metavar="TYPE",
                            help="Only agents of this type, e.g. 'DHCP agent'.")
        parser.add_argument("--host", metavar="HOST", help="Only agents on this host.")
        parser.add_argument("--availability-zone", "--availability_zone", metavar="ZONE",
                            help="Only agents in this availability zone.")
        parser.add_argument("--long", action="store_true",
                            help="Also show each agent's load: for a DHCP agent, the "
                                 "networks it hosts (or subnets or ports, as the server's "
                                 "dhcp_load_type says).")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        agents = neutron_client(self.app).list_resources(
            "agents", agent_type=parsed_args.agent_type, host=parsed_args.host,
            availability_zone=parsed_args.availability_zone)
        columns = LONG_AGENT_COLUMNS if parsed_args.long else AGENT_COLUMNS
        return columns, agent_rows(agents, columns)


class ShowAgent(ShowOne):
    """Show every field of an agent, configurations as indented JSON."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="AGENT", help="Id of the agent.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        # Unlike agent-list, the old client's agent-show printed alive as True/False.
        return show_table(neutron_client(self.app).show("agent", parsed_args.agent))


class UpdateAgent(Command):
    """Enable or disable an agent, or change its description (PUT /v2.0/agents/{id}).

    A disabled agent (admin_state_up False) is given no new networks.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="AGENT", help="Id of the agent.")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--admin-state-up", "--admin_state_up", metavar="{True,False}",
                           type=boolean, help="False disables the agent, True enables it.")
        # Later neutron clients spelled "disable" as a flag; accept both spellings.
        state.add_argument("--admin-state-down", "--admin_state_down", dest="admin_state_up",
                           action="store_const", const=False,
                           help="Disable the agent (same as --admin-state-up False).")
        parser.add_argument("--description", metavar="DESCRIPTION",
                            help="Free text about the agent.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        fields: dict[str, Any] = {}
        if parsed_args.admin_state_up is not None:
            fields["admin_state_up"] = parsed_args.admin_state_up
        if parsed_args.description is not None:
            fields["description"] = parsed_args.description
        if not fields:
            raise CliError("Nothing to update: give --admin-state-up True|False or "
                           "--description.")
        neutron_client(self.app).update("agent", parsed_args.agent, fields)
        say(self.app, f"Updated agent: {parsed_args.agent}")
        return 0


class DeleteAgent(Command):
    """Delete an agent's record; a running agent registers itself again."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("agent", metavar="AGENT", help="Id of the agent to delete.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        neutron_client(self.app).delete("agent", parsed_args.agent)
        say(self.app, f"Deleted agent: {parsed_args.agent}")
        return 0
