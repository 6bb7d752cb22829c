"""subnet-create, subnet-list, subnet-show, subnet-update, subnet-delete."""

from __future__ import annotations

import argparse
from typing import Any

from cliff.command import Command
from cliff.lister import Lister
from cliff.show import ShowOne

from neutrino.cli.api import CliError
from neutrino.cli.app import neutron_client
from neutrino.cli.arguments import key_values
from neutrino.cli.commands.by_name import DeleteByName, ShowByName
from neutrino.cli.commands.messages import say, say_created
from neutrino.cli.display import list_rows, show_table
from neutrino.cli.resolve import find_id
from neutrino.ipv6 import MODES as IPV6_MODES

SUBNET_COLUMNS = ("id", "name", "cidr", "allocation_pools")


def _add_dhcp_switch(parser: argparse.ArgumentParser) -> None:
    dhcp = parser.add_mutually_exclusive_group()
    dhcp.add_argument("--enable-dhcp", "--enable_dhcp", dest="enable_dhcp",
                      action="store_const", const=True, default=None,
                      help="Serve DHCP on this subnet (the default for new subnets).")
    dhcp.add_argument("--disable-dhcp", "--disable_dhcp", dest="enable_dhcp",
                      action="store_const", const=False,
                      help="Do not serve DHCP on this subnet.")


def _add_gateway_choice(parser: argparse.ArgumentParser) -> None:
    gateway = parser.add_mutually_exclusive_group()
    gateway.add_argument("--gateway", "--gateway-ip", "--gateway_ip", dest="gateway",
                         metavar="GATEWAY_IP",
                         help="Gateway address; defaults to the first address of the CIDR.")
    gateway.add_argument("--no-gateway", "--no_gateway", action="store_true", default=False,
                         help="No gateway on this subnet.")


def _add_lists(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dns-nameserver", "--dns_nameserver", dest="dns_nameservers",
                        metavar="DNS_NAMESERVER", action="append",
                        help="DNS server handed out by DHCP; repeat for several.")
    parser.add_argument("--host-route", "--host_route", dest="host_routes",
                        metavar="destination=CIDR,nexthop=IP", action="append",
                        type=key_values(("destination", "nexthop"), ("destination", "nexthop")),
                        help="Static route handed out by DHCP; repeat for several.")


def _common_fields(parsed_args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if parsed_args.name is not None:
        fields["name"] = parsed_args.name
    if parsed_args.no_gateway:
        fields["gateway_ip"] = None
    elif parsed_args.gateway:
        fields["gateway_ip"] = parsed_args.gateway
    if parsed_args.dns_nameservers:
        fields["dns_nameservers"] = parsed_args.dns_nameservers
    if parsed_args.host_routes:
        fields["host_routes"] = parsed_args.host_routes
    if parsed_args.enable_dhcp is not None:
        fields["enable_dhcp"] = parsed_args.enable_dhcp
    return fields


class CreateSubnet(ShowOne):
    """Create a subnet on a network (POST /v2.0/subnets)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("network", metavar="NETWORK", help="Name or id of the network.")
        parser.add_argument("cidr", metavar="CIDR", help="Address range, e.g. 10.0.1.0/24.")
        parser.add_argument("--name", metavar="NAME", help="Name of the subnet.")
        parser.add_argument("--tenant-id", "--tenant_id", metavar="TENANT_ID",
                            help="Owner tenant (project) id; admin only, defaults to yours.")
        parser.add_argument("--ip-version", "--ip_version", type=int, choices=(4, 6), default=4,
                            help="IP version of the CIDR (default: 4).")
        _add_gateway_choice(parser)
        parser.add_argument("--allocation-pool", "--allocation_pool", dest="allocation_pools",
                            metavar="start=IP,end=IP", action="append",
                            type=key_values(("start", "end"), ("start", "end")),
                            help="Range DHCP hands addresses out from; repeat for several. "
                                 "Default: the whole CIDR minus the gateway.")
        _add_lists(parser)
        _add_dhcp_switch(parser)
        # neutronclient's names and choices; the server judges the combination (docs/ipv6.md).
        for flag in ("ipv6-ra-mode", "ipv6-address-mode"):
            parser.add_argument(f"--{flag}", f"--{flag.replace('-', '_')}",
                                dest=flag.replace("-", "_"), choices=IPV6_MODES,
                                help="IPv6 subnets only: slaac, dhcpv6-stateful or "
                                     "dhcpv6-stateless.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        client = neutron_client(self.app)
        fields: dict[str, Any] = {
            "network_id": find_id(client, "network", parsed_args.network),
            "cidr": parsed_args.cidr,
            "ip_version": parsed_args.ip_version,
        }
        fields.update(_common_fields(parsed_args))
        if parsed_args.tenant_id:
            fields["tenant_id"] = parsed_args.tenant_id
        if parsed_args.allocation_pools:
            fields["allocation_pools"] = parsed_args.allocation_pools
        for key in ("ipv6_ra_mode", "ipv6_address_mode"):
            if getattr(parsed_args, key):
                fields[key] = getattr(parsed_args, key)
        subnet = client.create("subnet", fields)
        say_created(self.app, parsed_args, "subnet")
        return show_table(subnet)


class ListSubnet(Lister):
    """List subnets (GET /v2.0/subnets)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--name", metavar="NAME", help="Only subnets with this name.")
        parser.add_argument("--network-id", "--network_id", metavar="NETWORK_ID",
                            help="Only subnets of this network id.")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        subnets = neutron_client(self.app).list_resources("subnets", name=parsed_args.name,
                                                network_id=parsed_args.network_id)
        return SUBNET_COLUMNS, list_rows(subnets, SUBNET_COLUMNS)


class ShowSubnet(ShowByName):
    """Show every field of a subnet."""

    resource = "subnet"

class UpdateSubnet(Command):
    """Change a subnet's name, gateway, DNS servers, routes or DHCP switch."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("subnet", metavar="SUBNET", help="Name or id of the subnet.")
        parser.add_argument("--name", metavar="NAME", help="New name.")
        _add_gateway_choice(parser)
        _add_lists(parser)
        _add_dhcp_switch(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        fields = _common_fields(parsed_args)
        if not fields:
            raise CliError("Nothing to update: give --name, --gateway, --no-gateway, "
                           "--dns-nameserver, --host-route, --enable-dhcp or --disable-dhcp.")
        client = neutron_client(self.app)
        client.update("subnet", find_id(client, "subnet", parsed_args.subnet), fields)
        say(self.app, f"Updated subnet: {parsed_args.subnet}")
        return 0


class DeleteSubnet(DeleteByName):
    """Delete a subnet (DELETE /v2.0/subnets/{id})."""

    resource = "subnet"
