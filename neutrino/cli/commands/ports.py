"""port-create, port-list, port-show, port-update, port-delete."""

from __future__ import annotations

import argparse
from typing import Any

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from neutrino.cli.api import CliError
from neutrino.cli.app import neutron_client
from neutrino.cli.arguments import boolean, extra_dhcp_opt, key_values
from neutrino.cli.commands.by_name import DeleteByName, ShowByName
from neutrino.cli.commands.messages import say, say_created
from neutrino.cli.display import list_rows, show_table
from neutrino.cli.resolve import find_id

PORT_COLUMNS = ("id", "name", "mac_address", "fixed_ips")


def add_extra_dhcp_opt_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extra-dhcp-opt", "--extra_dhcp_opt", dest="extra_dhcp_opts",
                        action="append", type=extra_dhcp_opt,
                        metavar="opt_name=NAME,opt_value=VALUE[,ip_version={4,6}]",
                        help="A DHCP option for this port, e.g. opt_name=bootfile-name,"
                             "opt_value=pxelinux.0. Repeat for several; on update, options "
                             "not named are kept and an empty opt_value deletes one.")


class CreatePort(ShowOne):
    """Create a port on a network (POST /v2.0/ports)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("network", metavar="NETWORK", help="Name or id of the network.")
        parser.add_argument("--name", metavar="NAME", help="Name of the port.")
        parser.add_argument("--tenant-id", "--tenant_id", metavar="TENANT_ID",
                            help="Owner tenant (project) id; admin only, defaults to yours.")
        parser.add_argument("--admin-state-down", "--admin_state_down", dest="admin_state_up",
                            action="store_false", default=True,
                            help="Create the port with admin_state_up False.")
        parser.add_argument("--mac-address", "--mac_address", metavar="MAC",
                            help="MAC address; the server picks one if omitted.")
        parser.add_argument("--fixed-ip", "--fixed_ip", dest="fixed_ips", action="append",
                            metavar="subnet_id=SUBNET,ip_address=IP",
                            type=key_values(("subnet_id", "ip_address")),
                            help="Address wanted on a subnet (name or id); either key may be "
                                 "omitted. Repeat for several.")
        parser.add_argument("--device-id", "--device_id", metavar="DEVICE_ID",
                            help="Id of the device using the port, e.g. a VM id.")
        parser.add_argument("--device-owner", "--device_owner", metavar="DEVICE_OWNER",
                            help="What owns the port, e.g. compute:nova or network:dhcp.")
        parser.add_argument("--binding:host_id", "--binding-host-id", dest="host_id",
                            metavar="HOST", help="Host the port is bound to (admin only).")
        add_extra_dhcp_opt_argument(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        fields: dict[str, Any] = {
            "network_id": find_id(client, "network", parsed_args.network),
            "admin_state_up": parsed_args.admin_state_up,
        }
        optional = {"name": parsed_args.name, "tenant_id": parsed_args.tenant_id,
                    "mac_address": parsed_args.mac_address, "device_id": parsed_args.device_id,
                    "device_owner": parsed_args.device_owner,
                    "binding:host_id": parsed_args.host_id}
        fields.update({key: value for key, value in optional.items() if value is not None})
        if parsed_args.fixed_ips:
            fixed_ips = []
            for wanted in parsed_args.fixed_ips:
                entry = dict(wanted)
                if "subnet_id" in entry:
                    # The old client took subnet names here too.
                    entry["subnet_id"] = find_id(client, "subnet", entry["subnet_id"])
                fixed_ips.append(entry)
            fields["fixed_ips"] = fixed_ips
        if parsed_args.extra_dhcp_opts:
            fields["extra_dhcp_opts"] = parsed_args.extra_dhcp_opts
        port = client.create("port", fields)
        say_created(self.app, parsed_args, "port")
        return show_table(port)


class ListPort(Lister):
    """List ports with their addresses (GET /v2.0/ports)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--network-id", "--network_id", metavar="NETWORK_ID",
                            help="Only ports on this network id.")
        parser.add_argument("--device-owner", "--device_owner", metavar="DEVICE_OWNER",
                            help="Only ports with this device owner, e.g. network:dhcp.")
        parser.add_argument("--device-id", "--device_id", metavar="DEVICE_ID",
                            help="Only ports of this device.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        ports = neutron_client(self.app).list_resources(
            "ports", network_id=parsed_args.network_id, device_owner=parsed_args.device_owner,
            device_id=parsed_args.device_id)
        return PORT_COLUMNS, list_rows(ports, PORT_COLUMNS)


class ShowPort(ShowByName):
    """Show every field of a port."""

    resource = "port"

class UpdatePort(Command):
    """Change a port's name, device, host binding or admin state (PUT /v2.0/ports/{id})."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("port", metavar="PORT", help="Name or id of the port.")
        parser.add_argument("--name", metavar="NAME", help="New name.")
        parser.add_argument("--admin-state-up", "--admin_state_up", metavar="{True,False}",
                            type=boolean, help="New administrative state.")
        parser.add_argument("--device-id", "--device_id", metavar="DEVICE_ID",
                            help="Id of the device using the port.")
        parser.add_argument("--device-owner", "--device_owner", metavar="DEVICE_OWNER",
                            help="What owns the port, e.g. compute:nova.")
        parser.add_argument("--binding:host_id", "--binding-host-id", dest="host_id",
                            metavar="HOST", help="Host the port is bound to (admin only).")
        add_extra_dhcp_opt_argument(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        wanted = {"name": parsed_args.name, "admin_state_up": parsed_args.admin_state_up,
                  "device_id": parsed_args.device_id, "device_owner": parsed_args.device_owner,
                  "binding:host_id": parsed_args.host_id}
        fields = {key: value for key, value in wanted.items() if value is not None}
        if parsed_args.extra_dhcp_opts:
            fields["extra_dhcp_opts"] = parsed_args.extra_dhcp_opts
        if not fields:
            raise CliError("Nothing to update: give --name, --admin-state-up, --device-id, "
                           "--device-owner, --binding:host_id or --extra-dhcp-opt.")
        client = neutron_client(self.app)
        client.update("port", find_id(client, "port", parsed_args.port), fields)
        say(self.app, f"Updated port: {parsed_args.port}")
        return 0


class DeletePort(DeleteByName):
    """Delete a port (DELETE /v2.0/ports/{id})."""

    resource = "port"
