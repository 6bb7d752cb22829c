"""net-create, net-list, net-show, net-update, net-delete."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from neutrino.cli.api import CliError, NeutronClient
from neutrino.cli.app import neutron_client
from neutrino.cli.arguments import boolean
from neutrino.cli.commands.by_name import DeleteByName, ShowByName
from neutrino.cli.commands.messages import say, say_created
from neutrino.cli.display import show_table, subnets_cell
from neutrino.cli.resolve import find_id

NETWORK_COLUMNS = ("id", "name", "subnets")


def network_rows(client: NeutronClient, networks: Iterable[dict[str, Any]]
                 ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Rows of id, name, subnets ('<subnet-id> <cidr>' per line), shared with
    net-list-on-dhcp-agent."""
    networks = list(networks)
    cidrs: dict[str, str] = {}
    if any(network.get("subnets") for network in networks):
        # One subnet listing for the whole table rather than one GET per subnet.
        cidrs = {str(subnet["id"]): str(subnet.get("cidr", ""))
                 for subnet in client.list_resources("subnets")}
    rows = [(network.get("id"), network.get("name"), subnets_cell(network, cidrs))
            for network in networks]
    return NETWORK_COLUMNS, rows


class CreateNetwork(ShowOne):
    """Create a network (POST /v2.0/networks)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="Name of the network to create.")
        parser.add_argument("--tenant-id", "--tenant_id", metavar="TENANT_ID",
                            help="Owner tenant (project) id; admin only, defaults to yours.")
        parser.add_argument("--admin-state-down", "--admin_state_down", dest="admin_state_up",
                            action="store_false", default=True,
                            help="Create the network with admin_state_up False.")
        parser.add_argument("--shared", action="store_true", default=False,
                            help="Let every tenant use the network (admin only).")
        parser.add_argument("--provider:network_type", dest="network_type",
                            metavar="TYPE",
                            help="Segment type: vlan, vxlan or flat (admin only).")
        parser.add_argument("--provider:physical_network", dest="physical_network",
                            metavar="PHYSNET",
                            help="Physical network of a vlan or flat segment, e.g. physnet1.")
        parser.add_argument("--provider:segmentation_id", dest="segmentation_id",
                            metavar="ID", type=int,
                            help="VLAN id or VXLAN VNI of the segment.")
        # Neutron's client spelling; repeat it for several zones.
        parser.add_argument("--availability-zone-hint", dest="availability_zone_hints",
                            metavar="ZONE", action="append",
                            help="Availability zone the network's DHCP agents may be in "
                                 "(repeat for more; none: any zone).")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        fields: dict[str, Any] = {"name": parsed_args.name,
                                  "admin_state_up": parsed_args.admin_state_up}
        if parsed_args.availability_zone_hints:
            fields["availability_zone_hints"] = parsed_args.availability_zone_hints
        if parsed_args.shared:
            fields["shared"] = True
        if parsed_args.tenant_id:
            fields["tenant_id"] = parsed_args.tenant_id
        for option in ("network_type", "physical_network", "segmentation_id"):
            value = getattr(parsed_args, option)
            if value is not None:
                fields[f"provider:{option}"] = value
        network = neutron_client(self.app).create("network", fields)
        say_created(self.app, parsed_args, "network")
        return show_table(network)


class ListNetwork(Lister):
    """List networks with their subnets (GET /v2.0/networks)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="NAME", help="Only networks with this name.")
        parser.add_argument("--tenant-id", "--tenant_id", metavar="TENANT_ID",
                            help="Only networks of this tenant (project).")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        networks = client.list_resources("networks", name=parsed_args.name,
                               tenant_id=parsed_args.tenant_id)
        return network_rows(client, networks)


class ShowNetwork(ShowByName):
    """Show every field of a network."""

    resource = "network"

class UpdateNetwork(Command):
    """Change a network's name, admin state or sharing (PUT /v2.0/networks/{id})."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("network", metavar="NETWORK", help="Name or id of the network.")
        parser.add_argument("--name", metavar="NAME", help="New name.")
        parser.add_argument("--admin-state-up", "--admin_state_up", metavar="{True,False}",
                            type=boolean, help="New administrative state.")
        parser.add_argument("--shared", metavar="{True,False}", type=boolean,
                            help="Share the network with every tenant, or stop sharing it.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        fields = {key: value for key, value in (("name", parsed_args.name),
                                                 ("admin_state_up", parsed_args.admin_state_up),
                                                 ("shared", parsed_args.shared))
                  if value is not None}
        if not fields:
            raise CliError(
                "Nothing to update: give --name, --admin-state-up or --shared.")
        client = neutron_client(self.app)
        network_id = find_id(client, "network", parsed_args.network)
        client.update("network", network_id, fields)
        say(self.app, f"Updated network: {parsed_args.network}")
        return 0


class DeleteNetwork(DeleteByName):
    """Delete a network (DELETE /v2.0/networks/{id})."""

    resource = "network"
